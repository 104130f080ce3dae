#include "daemon/socket_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace lxe::daemon {
namespace {

std::string read_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "unknown";
  std::string pid(buf, static_cast<size_t>(n));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid;
}

}  // namespace

SocketLock::SocketLock(const std::string& socket) : socket_(socket), lock_path_(socket + ".lock") {
  fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0)
    throw std::runtime_error("cannot create lock file " + lock_path_ + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const std::string pid = read_pid(fd_);
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("another lxe (pid " + pid + ") is already serving on " + socket_ +
                             "; stop it first or choose another --socket");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    // The pid is only for the message above; the lock itself is what matters.
  }

  struct stat st {};
  if (::lstat(socket_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      ::close(fd_);
      fd_ = -1;
      throw std::runtime_error("refusing to replace " + socket_ + ": it exists and is not a socket");
    }
    // We hold the lock, so whoever made this socket is gone: it is stale.
    ::unlink(socket_.c_str());
  }
}

SocketLock::~SocketLock() {
  if (fd_ < 0) return;
  ::unlink(socket_.c_str());
  ::unlink(lock_path_.c_str());
  ::close(fd_);
}

}  // namespace lxe::daemon
