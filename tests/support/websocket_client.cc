#include "support/websocket_client.h"

#include "support/spdy_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace lxe::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

template <typename Ws>
WebSocketResult drive(Ws& ws, const std::string& authority, const std::string& target, const WebSocketRun& run) {
  WebSocketResult result;
  std::string offered;
  for (const auto& p : run.protocols) offered += (offered.empty() ? "" : ", ") + p;
  ws.set_option(websocket::stream_base::decorator([offered](websocket::request_type& request) {
    if (!offered.empty()) request.set(beast::http::field::sec_websocket_protocol, offered);
  }));
  websocket::response_type response;
  beast::error_code ec;
  ws.handshake(response, authority, target, ec);
  // Beast 1.74 does not hand over a declined handshake's answer: refusals are read with
  // websocket_refusal().
  result.http_status = ec ? 0 : 101;
  if (ec) return result;
  result.protocol = std::string(response[beast::http::field::sec_websocket_protocol]);
  ws.binary(true);
  auto send = [&](uint8_t channel, const std::string& data) {
    std::string message(1, static_cast<char>(channel));
    message += data;
    ws.write(asio::buffer(message));
  };
  for (const auto& size : run.resizes) send(4, size + "\n");
  if (run.stdin_data) send(0, *run.stdin_data);
  if (run.stdin_data && run.close_stdin) send(255, std::string(1, '\0'));
  beast::flat_buffer buffer;
  while (true) {
    ws.read(buffer, ec);
    if (ec) {
      result.closed_normally = ec == websocket::error::closed && ws.reason().code == websocket::close_code::normal;
      break;
    }
    const std::string message = beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
    if (message.empty()) continue;
    const std::string data = message.substr(1);
    switch (message[0]) {
      case 1: result.out += data; break;
      case 2: result.err += data; break;
      case 3: result.status += data; break;
      default: break;
    }
  }
  return result;
}

}  // namespace

WebSocketResult run_websocket_command(const std::string& url, const WebSocketRun& run) {
  // http(s)://HOST:PORT/PATH
  const size_t host_start = url.find("://") + 3;
  const size_t path_start = url.find('/', host_start);
  const std::string authority = url.substr(host_start, path_start - host_start);
  const size_t colon = authority.rfind(':');
  const std::string host = authority.substr(0, colon), port = authority.substr(colon + 1);
  asio::io_context io;
  tcp::resolver resolver(io);
  if (url.rfind("https://", 0) == 0) {
    // The tests' server certificates are their own: not verified.
    asio::ssl::context context(asio::ssl::context::tls_client);
    context.set_verify_mode(asio::ssl::verify_none);
    websocket::stream<asio::ssl::stream<tcp::socket>> ws(io, context);
    asio::connect(ws.next_layer().next_layer(), resolver.resolve(host, port));
    beast::error_code ec;
    ws.next_layer().handshake(asio::ssl::stream_base::client, ec);
    if (ec) return {};
    return drive(ws, authority, url.substr(path_start), run);
  }
  websocket::stream<tcp::socket> ws(io);
  asio::connect(ws.next_layer(), resolver.resolve(host, port));
  return drive(ws, authority, url.substr(path_start), run);
}

HttpAnswer websocket_refusal(const std::string& url, const std::vector<std::string>& protocols) {
  std::vector<std::string> headers{"Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
                                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="};
  for (const auto& p : protocols) headers.push_back("Sec-WebSocket-Protocol: " + p);
  return http_exchange(url, "GET", headers);
}

}  // namespace lxe::test
