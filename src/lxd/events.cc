#include "lxd/events.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

namespace lxe::lxd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

EventStream::EventStream(std::string socket_path, Handler on_event, ConnectionHandler on_connection)
    : socket_path_(std::move(socket_path)), on_event_(std::move(on_event)), on_connection_(std::move(on_connection)) {}

EventStream::~EventStream() { stop(); }

void EventStream::start() { thread_ = std::thread([this] { run(); }); }

void EventStream::stop() {
  if (stopping_.exchange(true)) {
    if (thread_.joinable()) thread_.join();
    return;
  }
  {
    std::lock_guard lock(fd_mutex_);
    if (active_fd_ >= 0) ::shutdown(active_fd_, SHUT_RDWR);  // wakes the blocked read
  }
  if (thread_.joinable()) thread_.join();
}

void EventStream::run() {
  auto backoff = std::chrono::milliseconds(200);
  while (!stopping_) {
    try {
      read_until_closed();
      backoff = std::chrono::milliseconds(200);
    } catch (const std::exception& e) {
      if (!stopping_) spdlog::debug("LXD event stream: {}", e.what());
    }
    if (connected_.exchange(false) && on_connection_) on_connection_(false);
    // Sleep in small steps so that stop() is quick.
    for (auto slept = std::chrono::milliseconds(0); slept < backoff && !stopping_; slept += std::chrono::milliseconds(50))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
}

void EventStream::read_until_closed() {
  asio::io_context io;
  websocket::stream<asio::local::stream_protocol::socket> ws(io);
  ws.next_layer().connect(asio::local::stream_protocol::endpoint(socket_path_));
  {
    std::lock_guard lock(fd_mutex_);
    if (stopping_) return;
    active_fd_ = ws.next_layer().native_handle();
  }
  struct ForgetFd {
    EventStream& self;
    ~ForgetFd() {
      std::lock_guard lock(self.fd_mutex_);
      self.active_fd_ = -1;
    }
  } forget{*this};

  // LXD checks the Host header like any HTTP request on its socket.
  ws.handshake("lxd", "/1.0/events?type=lifecycle");
  connected_ = true;
  if (on_connection_) on_connection_(true);
  spdlog::debug("LXD event stream connected on {}", socket_path_);

  beast::flat_buffer buffer;
  while (!stopping_) {
    buffer.clear();
    ws.read(buffer);
    const auto message = nlohmann::json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
    if (!message.is_object() || message.value("type", "") != "lifecycle") continue;
    const auto& metadata = message.value("metadata", nlohmann::json::object());
    LifecycleEvent event;
    event.action = metadata.value("action", "");
    event.source = metadata.value("source", "");
    event.timestamp = message.value("timestamp", "");
    const auto slash = event.source.rfind('/');
    event.name = slash == std::string::npos ? event.source : event.source.substr(slash + 1);
    // Names in sources are URL-escaped; lxe's names never need escaping, so no decoding.
    if (on_event_) on_event_(event);
  }
}

}  // namespace lxe::lxd
