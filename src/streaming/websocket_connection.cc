#include "streaming/websocket_connection.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "common/socket_io.h"
#include "streaming/asio_fd.h"

namespace lxe::streaming {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

constexpr uint8_t kCloseSignal = 255;
// Big enough for throughput, small enough that one channel does not hold the others up.
constexpr size_t kMessageChunk = 32 * 1024;


}  // namespace

struct WebSocketConnection::Impl {
  class ChannelSink final : public Sink {
   public:
    ChannelSink(Impl& impl, uint8_t channel) : impl_(impl), channel_(channel) {}
    bool write(std::string_view bytes) override {
      while (!bytes.empty()) {
        const size_t n = std::min(bytes.size(), kMessageChunk);
        std::string message(1, static_cast<char>(channel_));
        message.append(bytes.substr(0, n));
        if (!impl_.send(std::move(message))) return false;
        bytes.remove_prefix(n);
      }
      return true;
    }
    // The session's end closes the whole connection; a channel of its own is never ended early.
    void close() override {}

   private:
    Impl& impl_;
    const uint8_t channel_;
  };

  struct Outgoing {
    std::string data;
    bool close = false;
    std::promise<bool> done;
  };

  explicit Impl(int fd) : ws(io) {
    assign_duplicate(ws.next_layer(), fd);
  }

  // Any thread: queues `data` as one binary message and waits until it is written (false when
  // the connection is gone).
  bool send(std::string data, bool close = false) {
    auto item = std::make_shared<Outgoing>();
    item->data = std::move(data);
    item->close = close;
    auto done = item->done.get_future();
    {
      std::lock_guard lock(state_mutex);
      if (stopped) return false;
      asio::post(io, [this, item] {
        if (broken) {
          item->done.set_value(false);
          return;
        }
        queue.push_back(item);
        if (!writing) write_next();
      });
    }
    try {
      return done.get();
    } catch (const std::future_error&) {
      return false;  // the I/O thread stopped before it got to the message
    }
  }

  // I/O thread.
  void write_next() {
    if (queue.empty()) {
      writing = false;
      return;
    }
    writing = true;
    auto item = queue.front();
    auto finished = [this, item](beast::error_code ec, size_t = 0) {
      queue.pop_front();
      if (ec) {
        broken = true;
        item->done.set_value(false);
        for (auto& rest : queue) rest->done.set_value(false);
        queue.clear();
        writing = false;
        return;
      }
      item->done.set_value(true);
      write_next();
    };
    if (item->close)
      ws.async_close(websocket::close_code::normal, finished);
    else
      ws.async_write(asio::buffer(item->data), finished);
  }

  void read_next() {
    ws.async_read(buffer, [this](beast::error_code ec, size_t) {
      if (ec) {
        peer_closed();
        return;
      }
      std::string message = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      on_message(message);
      read_next();
    });
  }

  void on_message(const std::string& message) {
    if (tunnel_remote.valid()) {
      if (!send_all(tunnel_remote.get(), message)) ::shutdown(tunnel_remote.get(), SHUT_RDWR);
      return;
    }
    if (message.empty()) return;
    const auto channel = static_cast<uint8_t>(message[0]);
    const std::string_view data = std::string_view(message).substr(1);
    if (channel == kCloseSignal) {
      if (!data.empty()) {
        if (auto* pipe = inbound_pipe(static_cast<uint8_t>(data[0]))) pipe->finish();
      }
      return;
    }
    if (auto* pipe = inbound_pipe(channel)) pipe->push(data);
  }

  InboundPipe* inbound_pipe(uint8_t channel) {
    if (channel == 0) return &stdin_pipe;
    if (channel == 4) return &resize_pipe;
    return nullptr;  // the client writes nothing else
  }

  void peer_closed() {
    stdin_pipe.abort();
    resize_pipe.abort();
    if (tunnel_remote.valid()) ::shutdown(tunnel_remote.get(), SHUT_RDWR);
    {
      std::lock_guard lock(state_mutex);
      read_ended = true;
      read_changed.notify_all();
    }
    if (on_closed) on_closed();
  }

  void run() {
    io_thread = std::thread([this] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }

  void stop() {
    {
      std::lock_guard lock(state_mutex);
      if (stopped) return;
      stopped = true;
    }
    if (tunnel_remote.valid()) ::shutdown(tunnel_remote.get(), SHUT_RDWR);
    if (tunnel_reader.joinable()) tunnel_reader.join();
    io.stop();
    if (io_thread.joinable()) io_thread.join();
    beast::error_code ignored;
    ws.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    ws.next_layer().close(ignored);
  }

  asio::io_context io;
  websocket::stream<tcp::socket> ws;
  beast::flat_buffer buffer;
  InboundPipe stdin_pipe;
  InboundPipe resize_pipe;
  ChannelSink sinks[3]{{*this, 1}, {*this, 2}, {*this, 3}};
  std::deque<std::shared_ptr<Outgoing>> queue;  // I/O thread only, as are the two flags
  bool writing = false;
  bool broken = false;
  std::function<void()> on_closed;
  UniqueFd tunnel_remote;  // the socket pair's end this side copies to and from
  std::thread tunnel_reader;
  std::thread io_thread;
  std::mutex state_mutex;
  std::condition_variable read_changed;
  bool read_ended = false;
  bool stopped = false;
};

WebSocketConnection::WebSocketConnection(int fd, const HttpRequest& request, const std::string& protocol)
    : impl_(std::make_unique<Impl>(fd)) {
  auto& ws = impl_->ws;
  ws.set_option(websocket::stream_base::decorator(
      [protocol](websocket::response_type& response) { response.set(beast::http::field::sec_websocket_protocol, protocol); }));
  // No idle timeout: an interactive shell may stay quiet for hours (clients ping on their own).
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = std::chrono::seconds(10);
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws.set_option(timeouts);
  ws.binary(true);
  ws.read_message_max(16 * 1024 * 1024);
  beast::error_code ec;
  ws.accept(request, ec);
  if (ec) throw std::runtime_error("WebSocket handshake failed: " + ec.message());
}

WebSocketConnection::~WebSocketConnection() { impl_->stop(); }

InboundPipe& WebSocketConnection::inbound(uint8_t channel) {
  return channel == 4 ? impl_->resize_pipe : impl_->stdin_pipe;
}

Sink& WebSocketConnection::outbound(uint8_t channel) {
  return impl_->sinks[std::clamp<uint8_t>(channel, 1, 3) - 1];
}

void WebSocketConnection::start_channels(std::function<void()> on_closed) {
  impl_->on_closed = std::move(on_closed);
  asio::post(impl_->io, [this] { impl_->read_next(); });
  impl_->run();
}

int WebSocketConnection::start_tunnel(std::function<void()> on_closed) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    throw std::runtime_error("socketpair failed");
  impl_->tunnel_remote.reset(pair[1]);
  tunnel_local_.reset(pair[0]);
  impl_->on_closed = std::move(on_closed);
  asio::post(impl_->io, [this] { impl_->read_next(); });
  impl_->run();
  // SPDY's bytes from this side to the client, as binary messages.
  impl_->tunnel_reader = std::thread([this] {
    char buffer[kMessageChunk];
    while (true) {
      const ssize_t n = ::recv(impl_->tunnel_remote.get(), buffer, sizeof buffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || !impl_->send(std::string(buffer, static_cast<size_t>(n)))) break;
    }
  });
  return tunnel_local_.get();
}

void WebSocketConnection::finish(std::chrono::milliseconds linger) {
  bool stopped;
  {
    std::lock_guard lock(impl_->state_mutex);
    stopped = impl_->stopped;
  }
  if (!stopped) {
    // Close after whatever is queued, then give the client `linger` to answer it.
    auto closing = std::async(std::launch::async, [this] { return impl_->send("", true); });
    if (closing.wait_for(linger) == std::future_status::ready) {
      std::unique_lock lock(impl_->state_mutex);
      impl_->read_changed.wait_for(lock, linger, [&] { return impl_->read_ended; });
    }
    impl_->stop();
    closing.wait();
  }
}

}  // namespace lxe::streaming
