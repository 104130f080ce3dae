#include "support/spdy_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/socket_io.h"

namespace lxe::test {
namespace spdy = streaming::spdy;
namespace {


struct Url {
  std::string host;
  int port = 0;
  std::string path;
};

Url parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) throw std::invalid_argument("not an http URL: " + url);
  const size_t slash = url.find('/', scheme.size());
  const std::string authority = url.substr(scheme.size(), slash - scheme.size());
  Url out;
  out.path = slash == std::string::npos ? "/" : url.substr(slash);
  const size_t colon = authority.rfind(':');
  out.host = authority.substr(0, colon);
  out.port = std::stoi(authority.substr(colon + 1));
  if (out.host.size() > 2 && out.host.front() == '[') out.host = out.host.substr(1, out.host.size() - 2);
  return out;
}

UniqueFd dial(const Url& url) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (auto* a = reinterpret_cast<sockaddr_in*>(&storage); ::inet_pton(AF_INET, url.host.c_str(), &a->sin_addr) == 1) {
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(url.port));
    length = sizeof(sockaddr_in);
  } else {
    auto* b = reinterpret_cast<sockaddr_in6*>(&storage);
    if (::inet_pton(AF_INET6, url.host.c_str(), &b->sin6_addr) != 1) throw std::invalid_argument("bad host " + url.host);
    b->sin6_family = AF_INET6;
    b->sin6_port = htons(static_cast<uint16_t>(url.port));
    length = sizeof(sockaddr_in6);
  }
  UniqueFd fd(::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0)
    throw std::runtime_error("cannot connect to " + url.host + ":" + std::to_string(url.port));
  return fd;
}

}  // namespace

HttpAnswer http_exchange(const std::string& url, const std::string& method, const std::vector<std::string>& headers) {
  const Url parsed = parse_url(url);
  UniqueFd fd = dial(parsed);
  std::string request = method + " " + parsed.path + " HTTP/1.1\r\nHost: " + parsed.host + "\r\n";
  for (const auto& header : headers) request += header + "\r\n";
  send_all(fd.get(), request + "\r\n");
  std::string answer;
  char buffer[4096];
  ssize_t n;
  while ((n = ::recv(fd.get(), buffer, sizeof buffer, 0)) > 0) answer.append(buffer, static_cast<size_t>(n));
  HttpAnswer out;
  const size_t head_end = answer.find("\r\n\r\n");
  out.head = answer.substr(0, head_end);
  if (out.head.size() >= 12) out.status = std::stoi(out.head.substr(9, 3));
  if (head_end != std::string::npos) out.body = answer.substr(head_end + 4);
  return out;
}

std::variant<std::unique_ptr<SpdyClient>, HttpAnswer> SpdyClient::connect(const std::string& url,
                                                                          const std::vector<std::string>& protocols,
                                                                          const std::string& upgrade) {
  const Url parsed = parse_url(url);
  UniqueFd fd = dial(parsed);
  std::string request = "POST " + parsed.path + " HTTP/1.1\r\nHost: " + parsed.host + "\r\n";
  if (!upgrade.empty()) request += "Connection: Upgrade\r\nUpgrade: " + upgrade + "\r\n";
  for (const auto& p : protocols) request += "X-Stream-Protocol-Version: " + p + "\r\n";
  request += "\r\n";
  send_all(fd.get(), request);
  std::string answer;
  char buffer[4096];
  size_t head_end = std::string::npos;
  while ((head_end = answer.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n <= 0) return HttpAnswer{0, answer, ""};
    answer.append(buffer, static_cast<size_t>(n));
  }
  HttpAnswer head;
  head.head = answer.substr(0, head_end);
  head.status = std::stoi(head.head.substr(9, 3));
  std::string rest = answer.substr(head_end + 4);
  if (head.status != 101) {
    // Refusals close the connection after their body.
    while (true) {
      const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
      if (n <= 0) break;
      rest.append(buffer, static_cast<size_t>(n));
    }
    head.body = rest;
    return head;
  }
  std::string protocol;
  const std::string key = "X-Stream-Protocol-Version: ";
  if (const size_t at = head.head.find(key); at != std::string::npos)
    protocol = head.head.substr(at + key.size(), head.head.find("\r\n", at) - at - key.size());
  return std::unique_ptr<SpdyClient>(new SpdyClient(std::move(fd), protocol, rest));
}

SpdyClient::SpdyClient(UniqueFd fd, std::string protocol, std::string already_read)
    : fd_(std::move(fd)), protocol_(std::move(protocol)) {
  reader_ = std::thread([this, rest = std::move(already_read)] { read_loop(rest); });
}

SpdyClient::~SpdyClient() {
  ::shutdown(fd_.get(), SHUT_RDWR);
  reader_.join();
}

void SpdyClient::read_loop(std::string already_read) {
  spdy::Decoder decoder(32 << 20);
  decoder.feed(already_read);
  char buffer[65536];
  try {
    while (true) {
      while (auto frame = decoder.next()) {
        std::lock_guard lock(mutex_);
        if (auto* data = std::get_if<spdy::DataFrame>(&*frame)) {
          streams_[data->stream_id].data += data->data;
          if (data->fin) streams_[data->stream_id].ended = true;
        } else if (auto* reply = std::get_if<spdy::SynReplyFrame>(&*frame)) {
          streams_[reply->stream_id].replied = true;
          if (reply->fin) streams_[reply->stream_id].ended = true;
        } else if (auto* rst = std::get_if<spdy::RstStreamFrame>(&*frame)) {
          streams_[rst->stream_id].ended = true;
        } else if (auto* ping = std::get_if<spdy::PingFrame>(&*frame)) {
          pongs_.push_back(ping->id);
        } else if (std::get_if<spdy::GoAwayFrame>(&*frame)) {
          goaway_ = true;
        }
        changed_.notify_all();
      }
      const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      decoder.feed(std::string_view(buffer, static_cast<size_t>(n)));
    }
  } catch (const spdy::ProtocolError&) {
  }
  std::lock_guard lock(mutex_);
  closed_ = true;
  changed_.notify_all();
}

uint32_t SpdyClient::open(const spdy::HeaderBlock& headers, bool fin) {
  std::lock_guard lock(write_mutex_);
  const uint32_t id = next_id_;
  next_id_ += 2;
  spdy::SynStreamFrame syn;
  syn.stream_id = id;
  syn.fin = fin;
  syn.headers = headers;
  send_all(fd_.get(), encoder_.encode(syn));
  return id;
}

void SpdyClient::send(uint32_t stream, std::string_view bytes, bool fin) {
  std::lock_guard lock(write_mutex_);
  do {
    const size_t n = std::min<size_t>(bytes.size(), 64 * 1024);
    spdy::DataFrame data{stream, fin && n == bytes.size(), std::string(bytes.substr(0, n))};
    send_all(fd_.get(), encoder_.encode(data));
    bytes.remove_prefix(n);
  } while (!bytes.empty());
}

void SpdyClient::reset(uint32_t stream) {
  std::lock_guard lock(write_mutex_);
  send_all(fd_.get(), encoder_.encode(spdy::RstStreamFrame{stream, spdy::kRstCancel}));
}

void SpdyClient::ping(uint32_t id) {
  std::lock_guard lock(write_mutex_);
  send_all(fd_.get(), encoder_.encode(spdy::PingFrame{id}));
}

void SpdyClient::drop() { ::shutdown(fd_.get(), SHUT_RDWR); }

std::string SpdyClient::received(uint32_t stream) const {
  std::lock_guard lock(mutex_);
  const auto it = streams_.find(stream);
  return it == streams_.end() ? "" : it->second.data;
}

bool SpdyClient::ended(uint32_t stream) const {
  std::lock_guard lock(mutex_);
  const auto it = streams_.find(stream);
  return closed_ || (it != streams_.end() && it->second.ended);
}

bool SpdyClient::replied(uint32_t stream) const {
  std::lock_guard lock(mutex_);
  const auto it = streams_.find(stream);
  return it != streams_.end() && it->second.replied;
}

bool SpdyClient::wait_ended(uint32_t stream, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    const auto it = streams_.find(stream);
    return closed_ || (it != streams_.end() && it->second.ended);
  });
}

bool SpdyClient::wait_received(uint32_t stream, const std::string& text, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    const auto it = streams_.find(stream);
    return it != streams_.end() && it->second.data.find(text) != std::string::npos;
  });
}

bool SpdyClient::wait_closed(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return closed_; });
}

bool SpdyClient::got_goaway() const {
  std::lock_guard lock(mutex_);
  return goaway_;
}

std::vector<uint32_t> SpdyClient::pongs() const {
  std::lock_guard lock(mutex_);
  return pongs_;
}

RemoteCommandResult run_remote_command(const std::string& url, const RemoteCommandRun& run) {
  RemoteCommandResult result;
  auto connected = SpdyClient::connect(url, {run.protocol});
  if (auto* answer = std::get_if<HttpAnswer>(&connected)) {
    result.refused = *answer;
    return result;
  }
  auto& client = *std::get<std::unique_ptr<SpdyClient>>(connected);
  // kubectl's order: error first, then the data streams, resize last.
  const uint32_t error = client.open({{"streamtype", "error"}}, true);
  std::optional<uint32_t> in, out, err, resize;
  if (run.stdin_data) in = client.open({{"streamtype", "stdin"}});
  if (run.stdout) out = client.open({{"streamtype", "stdout"}}, true);
  if (run.stderr && !run.tty) err = client.open({{"streamtype", "stderr"}}, true);
  if (run.tty) resize = client.open({{"streamtype", "resize"}});
  for (const auto& size : run.resizes) client.send(*resize, size + "\n");
  if (in) client.send(*in, *run.stdin_data, !run.keep_stdin_open);
  result.finished = client.wait_ended(error, run.timeout);
  if (out) client.wait_ended(*out, std::chrono::seconds(5));
  if (err) client.wait_ended(*err, std::chrono::seconds(5));
  result.status = client.received(error);
  if (out) result.out = client.received(*out);
  if (err) result.err = client.received(*err);
  return result;
}

std::optional<int> exit_code_of(const std::string& status_json) {
  const auto status = nlohmann::json::parse(status_json, nullptr, false);
  if (!status.is_object()) return std::nullopt;
  if (status.value("status", "") == "Success") return 0;
  if (status.value("reason", "") != "NonZeroExitCode") return std::nullopt;
  for (const auto& cause : status["details"]["causes"])
    if (cause.value("reason", "") == "ExitCode") return std::stoi(cause.value("message", "-1"));
  return std::nullopt;
}

ForwardedExchange forward_once(SpdyClient& client, int port, const std::string& request_id, const std::string& request,
                               std::chrono::milliseconds timeout) {
  ForwardedExchange exchange;
  const std::string port_text = std::to_string(port);
  const uint32_t error =
      client.open({{"streamtype", "error"}, {"port", port_text}, {"requestid", request_id}}, true);
  const uint32_t data = client.open({{"streamtype", "data"}, {"port", port_text}, {"requestid", request_id}});
  if (!request.empty()) client.send(data, request);
  exchange.ended = client.wait_ended(data, timeout);
  client.wait_ended(error, std::chrono::seconds(5));
  exchange.data = client.received(data);
  exchange.error = client.received(error);
  return exchange;
}

}  // namespace lxe::test
