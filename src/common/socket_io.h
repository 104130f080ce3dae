// Writing a whole buffer to a socket whose peer may have gone: MSG_NOSIGNAL, so a vanished
// client is an error returned (EPIPE), never a SIGPIPE that kills lxe.
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <string_view>

namespace lxe {

// False when the connection broke before everything was written.
inline bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace lxe
