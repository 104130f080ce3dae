#include "streaming/port_forward.h"

#include "common/socket_io.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <list>
#include <map>
#include <mutex>
#include <thread>

#include "streaming/spdy_connection.h"

namespace lxe::streaming {
namespace {

std::optional<int32_t> parse_port(const std::string& text) {
  int32_t port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535) return std::nullopt;
  return port;
}

// The streams of one forwarded connection, paired by request ID.
struct Pair {
  std::shared_ptr<SpdyStream> error;
  std::shared_ptr<SpdyStream> data;
};

class Session {
 public:
  Session(const PortForwardRequest& request, Runtime& runtime, Cancellation& cancelled)
      : request_(request), runtime_(runtime), cancelled_(cancelled) {}

  ~Session() {
    std::list<Worker> workers;
    {
      std::lock_guard lock(mutex_);
      workers.swap(workers_);
    }
    for (auto& worker : workers) worker.thread.join();
  }

  // On the connection's reader thread.
  void add(std::shared_ptr<SpdyStream> stream) {
    const std::string type = stream->header("streamType");
    std::string id = stream->header("requestID");
    // Clients older than request IDs open the data stream right after its error stream.
    if (id.empty()) id = std::to_string(type == "data" ? stream->id() - 2 : stream->id());
    std::lock_guard lock(mutex_);
    Pair& pair = pending_[id];
    auto& slot = type == "error" ? pair.error : type == "data" ? pair.data : pair.error;
    if ((type != "error" && type != "data") || slot) {
      spdlog::debug("streaming: port-forward stream of type '{}' (request {}) refused", type, id);
      stream->reset();
      return;
    }
    slot = std::move(stream);
    if (!pair.error || !pair.data) return;
    Pair ready = std::move(pair);
    pending_.erase(id);
    // A long session forwards many connections: the threads of those that ended are joined here.
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (!*it->done) {
        ++it;
        continue;
      }
      it->thread.join();
      it = workers_.erase(it);
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    workers_.push_back({std::thread([this, ready = std::move(ready), done] {
                          forward(ready);
                          *done = true;
                        }),
                        done});
  }

 private:
  void forward(const Pair& pair) {
    const std::string port_text = pair.data->header("port");
    const auto port = parse_port(port_text);
    std::string problem;
    if (!port) {
      problem = "'" + port_text + "' is not a port number";
    } else if (!request_.ports.empty() &&
               std::find(request_.ports.begin(), request_.ports.end(), *port) == request_.ports.end()) {
      problem = "port " + port_text + " is not one of the ports this session was granted";
    } else {
      auto connected = runtime_.connect(request_.pod_id, *port);
      if (auto* fd = std::get_if<UniqueFd>(&connected)) {
        pair.error->close();
        splice(fd->get(), pair.data->inbound(), *pair.data, cancelled_);
        return;
      }
      problem = std::get<std::string>(connected);
    }
    pair.error->write("error forwarding port " + port_text + " to pod " + request_.pod_id + ": " + problem);
    pair.error->close();
    pair.data->close();
  }

  const PortForwardRequest& request_;
  Runtime& runtime_;
  Cancellation& cancelled_;
  std::mutex mutex_;
  std::map<std::string, Pair> pending_;
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Worker> workers_;
};

}  // namespace

void splice(int pod_fd, InboundPipe& from_client, Sink& to_client, const Cancellation& cancelled) {
  // Client to pod on a thread of its own; pod to client here.
  std::thread upstream([&] {
    char buffer[32 * 1024];
    while (const size_t n = from_client.read(buffer, sizeof buffer))
      if (!send_all(pod_fd, std::string_view(buffer, n))) break;
    ::shutdown(pod_fd, SHUT_WR);
  });
  char buffer[32 * 1024];
  while (true) {
    pollfd p{pod_fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 200);
    if (cancelled.cancelled()) break;
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = ::recv(pod_fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (!to_client.write(std::string_view(buffer, static_cast<size_t>(n)))) break;
  }
  to_client.close();
  // The client may still be sending; its data has nowhere to go once the pod side closed.
  from_client.abort();
  upstream.join();
}

void serve_port_forward(SpdyConnection& connection, const PortForwardRequest& request, Runtime& runtime,
                        Cancellation& cancelled) {
  {
    Session session(request, runtime, cancelled);
    connection.start([&](std::shared_ptr<SpdyStream> stream) { session.add(std::move(stream)); },
                     [&] { cancelled.cancel(); });
    // Until the client closes the connection (it does when its local side ends) or lxe stops.
    while (!cancelled.wait_for(std::chrono::seconds(1))) {
    }
    // The reader stops first (no stream reaches the session any more, the pipes are aborted), then
    // the session's workers end: `cancelled` stops their copying.
    connection.finish(std::chrono::milliseconds(0));
  }
}

}  // namespace lxe::streaming
