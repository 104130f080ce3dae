// Exclusive ownership of the CRI socket path. A second lxe on the same socket would silently steal
// kubelet's connection from the first; the lock makes it fail at start instead.
#pragma once

#include <string>

namespace lxe::daemon {

class SocketLock {
 public:
  // Takes an exclusive flock on `<socket>.lock` and removes a stale socket file left by a crashed
  // lxe. Throws std::runtime_error with a one-line message when another process holds the lock, or
  // when `socket` exists and is not a socket.
  explicit SocketLock(const std::string& socket);
  ~SocketLock();  // removes the socket file, then releases the lock
  SocketLock(const SocketLock&) = delete;
  SocketLock& operator=(const SocketLock&) = delete;

 private:
  std::string socket_;
  std::string lock_path_;
  int fd_ = -1;
};

}  // namespace lxe::daemon
