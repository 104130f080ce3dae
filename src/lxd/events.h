// LXD's lifecycle event stream (GET /1.0/events?type=lifecycle, a websocket on LXD's unix socket):
// how lxe learns that an instance started, stopped or was deleted without asking LXD about each
// instance. The stream reconnects by itself when LXD restarts; while it is down, callers rely on
// their periodic resync, which is why missing events is never fatal.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace lxe::lxd {

struct LifecycleEvent {
  std::string action;  // "instance-started", "instance-stopped", "instance-deleted", ...
  std::string source;  // "/1.0/instances/<name>", "/1.0/profiles/<name>", ...
  std::string name;    // the last path element of source
  std::string timestamp;
};

class EventStream {
 public:
  using Handler = std::function<void(const LifecycleEvent&)>;
  // Called with true when the stream (re)connects and false when it drops: after a drop, events
  // may have been missed and the caller should resync.
  using ConnectionHandler = std::function<void(bool connected)>;

  EventStream(std::string socket_path, Handler on_event, ConnectionHandler on_connection = {});
  ~EventStream();  // stops and joins
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  void start();
  void stop();
  bool connected() const { return connected_; }

 private:
  void run();
  void read_until_closed();

  const std::string socket_path_;
  Handler on_event_;
  ConnectionHandler on_connection_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::mutex fd_mutex_;
  int active_fd_ = -1;  // the connected socket, so stop() can shut it down under a blocked read
  std::thread thread_;
};

}  // namespace lxe::lxd
