#include "streaming/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/socket_io.h"
#include "streaming/port_forward.h"
#include "streaming/remote_command.h"
#include "streaming/spdy_connection.h"
#include "streaming/tls_bridge.h"
#include "streaming/websocket_connection.h"

namespace lxe::streaming {
namespace {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;


// A plain answer that ends the connection (every refusal is one).
void respond(int fd, int status, const std::string& reason, const std::string& body,
             const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  std::string text = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  for (const auto& [name, value] : headers) text += name + ": " + value + "\r\n";
  text += "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size() + 1) +
          "\r\nConnection: close\r\n\r\n" + body + "\n";
  send_all(fd, text);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

// The request line and headers, or why there are none. `rest` gets the bytes read past them.
struct ReadRequest {
  std::optional<http::request<http::empty_body>> request;
  std::string problem;
  std::string rest;
};

ReadRequest read_request(int fd, std::chrono::milliseconds timeout) {
  ReadRequest out;
  http::request_parser<http::empty_body> parser;
  parser.header_limit(16 * 1024);
  parser.eager(true);
  std::string buffer;
  const auto deadline = Clock::now() + timeout;
  char chunk[8192];
  while (!parser.is_done()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd, POLLIN, 0};
    const int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      out.problem = "timed out reading the request";
      return out;
    }
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      out.problem = "connection closed before the request ended";
      return out;
    }
    buffer.append(chunk, static_cast<size_t>(n));
    while (!buffer.empty() && !parser.is_done()) {
      boost::system::error_code ec;
      const size_t used = parser.put(boost::asio::buffer(buffer), ec);
      buffer.erase(0, used);
      if (ec == http::error::need_more) break;
      if (ec) {
        out.problem = "bad request: " + ec.message();
        return out;
      }
    }
  }
  out.request = parser.release();
  out.rest = std::move(buffer);
  return out;
}

// The subprotocols a client offers, in its order: every X-Stream-Protocol-Version header, each
// maybe a comma-separated list.
std::vector<std::string> offered_protocols(const http::request<http::empty_body>& request,
                                          const char* header = "X-Stream-Protocol-Version") {
  std::vector<std::string> offered;
  const auto [first, last] = request.equal_range(header);
  for (auto field = first; field != last; ++field) {
    const std::string value(field->value());
    size_t start = 0;
    while (start <= value.size()) {
      size_t end = value.find(',', start);
      if (end == std::string::npos) end = value.size();
      std::string one = value.substr(start, end - start);
      one.erase(0, one.find_first_not_of(' '));
      one.erase(one.find_last_not_of(' ') + 1);
      if (!one.empty()) offered.push_back(one);
      start = end + 1;
    }
  }
  return offered;
}

}  // namespace

Server::Server(ServerOptions options, Runtime& runtime)
    : options_(std::move(options)),
      runtime_(runtime),
      requests_(options_.token_ttl, options_.max_waiting_tokens) {
  std::string address = options_.address;
  if (address.size() > 2 && address.front() == '[' && address.back() == ']') address = address.substr(1, address.size() - 2);
  sockaddr_storage storage{};
  socklen_t length = 0;
  bool v6 = false;
  if (auto* in4 = reinterpret_cast<sockaddr_in*>(&storage); ::inet_pton(AF_INET, address.c_str(), &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons(options_.port);
    length = sizeof(sockaddr_in);
  } else if (auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
             ::inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(options_.port);
    length = sizeof(sockaddr_in6);
    v6 = true;
  } else {
    throw std::runtime_error("streaming address '" + options_.address + "' is not an IP address");
  }
  const std::string where = (v6 ? "[" + address + "]" : address) + ":" + std::to_string(options_.port);
  listener_.reset(::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener_.valid()) throw std::runtime_error("cannot open a socket for " + where + ": " + std::strerror(errno));
  const int one = 1;
  ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0)
    throw std::runtime_error("cannot listen on " + where + ": " + std::strerror(errno));
  if (::listen(listener_.get(), 128) != 0)
    throw std::runtime_error("cannot listen on " + where + ": " + std::strerror(errno));
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof bound;
  ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &bound_length);
  port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (!options_.tls_cert.empty() || !options_.tls_key.empty()) {
    if (options_.tls_cert.empty() || options_.tls_key.empty())
      throw std::runtime_error("TLS for the streaming server needs both a certificate and a key");
    tls_ = make_tls_server_context(options_.tls_cert, options_.tls_key);
  }
  // A wildcard address is no place to connect to: clients (kubelet on this node) use loopback.
  std::string host = address;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  base_url_ = std::string(tls_ ? "https://" : "http://") + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port_);
}

Server::~Server() { stop(); }

void Server::start() {
  acceptor_ = std::thread([this] { accept_loop(); });
  spdlog::info("streaming server on {}", base_url_);
}

void Server::stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  std::list<std::unique_ptr<Connection>> connections;
  {
    std::lock_guard lock(mutex_);
    connections.swap(connections_);
  }
  for (auto& connection : connections) {
    connection->cancelled.cancel();
    ::shutdown(connection->fd.get(), SHUT_RDWR);
  }
  for (auto& connection : connections) connection->thread.join();
}

std::variant<std::string, UrlError> Server::url_for(Request request) {
  const std::string path = path_of(request);
  auto token = requests_.insert(std::move(request));
  if (!token)
    return UrlError{std::to_string(options_.max_waiting_tokens) +
                    " streaming URLs are waiting to be used already; try again when some were used or expired"};
  return base_url_ + "/" + path + "/" + *token;
}

size_t Server::active_connections() const {
  std::lock_guard lock(mutex_);
  size_t active = 0;
  for (const auto& connection : connections_) active += connection->done ? 0 : 1;
  return active;
}

void Server::reap_finished() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (!(*it)->done) {
      ++it;
      continue;
    }
    (*it)->thread.join();
    it = connections_.erase(it);
  }
}

void Server::accept_loop() {
  while (!stopping_) {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd.valid()) continue;
    std::lock_guard lock(mutex_);
    reap_finished();
    if (stopping_) break;
    if (connections_.size() >= options_.max_sessions) {
      // A refusal must not hold the acceptor up: a client that reads nothing gets nothing.
      const timeval one_second{1, 0};
      ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &one_second, sizeof one_second);
      respond(fd.get(), 503, "Service Unavailable",
              std::to_string(options_.max_sessions) + " streaming sessions are open already (lxe's limit)");
      continue;
    }
    auto connection = std::make_unique<Connection>();
    connection->fd = std::move(fd);
    Connection& ref = *connection;
    connections_.push_back(std::move(connection));
    ref.thread = std::thread([this, &ref] {
      try {
        serve(ref);
      } catch (const std::exception& e) {
        spdlog::warn("streaming: session ended by an error: {}", e.what());
      }
      // The client sees the end of the connection now; the descriptor itself is closed when the
      // thread is reaped (closing it here could let stop() shut down a reused number).
      ::shutdown(ref.fd.get(), SHUT_RDWR);
      ref.done = true;
    });
  }
}

void Server::serve(Connection& connection) {
  if (!tls_) {
    serve_http(connection, connection.fd.get());
    return;
  }
  TlsBridge bridge(connection.fd.get(), *tls_);
  if (const std::string problem = bridge.handshake(options_.request_timeout); !problem.empty()) {
    spdlog::debug("streaming: TLS handshake failed: {}", problem);
    return;
  }
  serve_http(connection, bridge.start());
}

void Server::serve_http(Connection& connection, int fd) {
  auto read = read_request(fd, options_.request_timeout);
  if (!read.request) {
    if (read.problem.rfind("bad request", 0) == 0) respond(fd, 400, "Bad Request", read.problem);
    return;
  }
  const auto& request = *read.request;
  std::string target(request.target());
  target = target.substr(0, target.find('?'));
  // /<kind>/<token>, nothing else.
  const size_t slash = target.find('/', 1);
  if (target.empty() || target[0] != '/' || slash == std::string::npos || target.find('/', slash + 1) != std::string::npos) {
    respond(fd, 404, "Not Found", "no such streaming session");
    return;
  }
  const std::string kind = target.substr(1, slash - 1);
  const auto session = requests_.consume(target.substr(slash + 1), kind);
  if (!session) {
    respond(fd, 404, "Not Found", "no such streaming session (the URL is unknown, used or expired; ask for a new one)");
    return;
  }
  const std::string upgrade(request[http::field::upgrade]);
  if (iequals(upgrade, "websocket")) {
    serve_websocket(connection, fd, request, kind, *session);
    return;
  }
  if (!iequals(upgrade, "SPDY/3.1")) {
    respond(fd, 400, "Bad Request",
            "streaming needs a connection upgrade to SPDY/3.1 or WebSocket (got '" + upgrade +
                "'); use kubectl, crictl or kubelet");
    return;
  }
  const auto offered = offered_protocols(request);
  const std::vector<std::string> accepted =
      kind == "portforward" ? std::vector<std::string>{kPortForwardProtocol} : remote_command_protocols();
  std::string protocol;
  for (const auto& candidate : offered)
    if (std::find(accepted.begin(), accepted.end(), candidate) != accepted.end()) {
      protocol = candidate;
      break;
    }
  if (offered.empty()) {
    respond(fd, 400, "Bad Request", "the request names no X-Stream-Protocol-Version");
    return;
  }
  if (protocol.empty()) {
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& one : accepted) headers.emplace_back("X-Accepted-Stream-Protocol-Versions", one);
    respond(fd, 403, "Forbidden", "none of the offered stream protocols is supported", headers);
    return;
  }
  if (!send_all(fd, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                    "X-Stream-Protocol-Version: " + protocol + "\r\n\r\n"))
    return;

  spdlog::info("streaming: {} session started ({})", kind, protocol);
  SpdyConnection spdy(fd, std::move(read.rest));
  if (const auto* forward = std::get_if<PortForwardRequest>(&*session))
    serve_port_forward(spdy, *forward, runtime_, connection.cancelled);
  else
    serve_remote_command(spdy, protocol, *session, runtime_, connection.cancelled, options_.stream_creation_timeout);
  spdlog::info("streaming: {} session ended", kind);
}

void Server::serve_websocket(Connection& connection, int fd, const http::request<http::empty_body>& request,
                             const std::string& kind, const Request& session) {
  const auto offered = offered_protocols(request, "Sec-WebSocket-Protocol");
  const std::vector<std::string> accepted = kind == "portforward"
                                                ? std::vector<std::string>{kPortForwardTunnelProtocol}
                                                : websocket_remote_command_protocols();
  std::string protocol;
  for (const auto& candidate : offered)
    if (std::find(accepted.begin(), accepted.end(), candidate) != accepted.end()) {
      protocol = candidate;
      break;
    }
  if (protocol.empty()) {
    std::string list;
    for (const auto& one : accepted) list += (list.empty() ? "" : ", ") + one;
    respond(fd, 400, "Bad Request", "the WebSocket request offers none of the subprotocols lxe speaks (" + list + ")");
    return;
  }
  WebSocketConnection ws(fd, request, protocol);
  spdlog::info("streaming: {} session started (WebSocket, {})", kind, protocol);
  if (const auto* forward = std::get_if<PortForwardRequest>(&session)) {
    const int tunnel = ws.start_tunnel([&] { connection.cancelled.cancel(); });
    {
      SpdyConnection spdy(tunnel, "");
      serve_port_forward(spdy, *forward, runtime_, connection.cancelled);
    }
    ws.finish(std::chrono::milliseconds(0));
  } else {
    const auto* exec = std::get_if<ExecRequest>(&session);
    const auto* attach = std::get_if<AttachRequest>(&session);
    const bool tty = exec ? exec->tty : attach->tty;
    const bool in = exec ? exec->stdin : attach->stdin;
    const bool out = exec ? exec->stdout : attach->stdout;
    const bool err = (exec ? exec->stderr : attach->stderr) && !tty;
    ws.start_channels([&] { connection.cancelled.cancel(); });
    CommandChannels channels;
    channels.stdin_pipe = in ? &ws.inbound(0) : nullptr;
    channels.stdout_sink = out ? &ws.outbound(1) : nullptr;
    channels.stderr_sink = err ? &ws.outbound(2) : nullptr;
    channels.resize = tty ? &ws.inbound(4) : nullptr;
    channels.error = &ws.outbound(3);
    run_remote_command(protocol, session, runtime_, channels, connection.cancelled);
    ws.finish();
  }
  spdlog::info("streaming: {} session ended", kind);
}

}  // namespace lxe::streaming
