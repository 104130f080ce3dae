#include "common/attach_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace lxe::attach {
namespace {

// How long a connection to an attach socket whose backlog is full is retried.
constexpr auto kConnectLimit = std::chrono::seconds(5);

std::string errno_text(int error) { return std::strerror(error); }

}  // namespace

bool attach_socket_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

std::variant<UniqueFd, std::string> connect_attach_socket(const std::string& path) {
  UniqueFd node(::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!node.valid()) return "cannot open the attach socket " + path + ": " + errno_text(errno);
  struct stat st {};
  if (::fstat(node.get(), &st) != 0 || !S_ISSOCK(st.st_mode)) return path + " is not a socket";
  // /proc/self/fd/N of the O_PATH descriptor names that very socket, and is short enough for
  // sun_path whatever the length of `path`.
  const std::string via = "/proc/self/fd/" + std::to_string(node.get());
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, via.c_str(), via.size() + 1);
  // Non-blocking: a blocking connect to a socket whose backlog is full waits for ever (lxe-init
  // accepts at once; anything else listening there need not).
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return "cannot create a socket: " + errno_text(errno);
  const auto deadline = std::chrono::steady_clock::now() + kConnectLimit;
  while (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    if (errno == EINTR) continue;
    if (errno != EAGAIN || std::chrono::steady_clock::now() >= deadline)
      return "cannot connect to the attach socket " + path + ": " + errno_text(errno);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  return fd;
}

}  // namespace lxe::attach
