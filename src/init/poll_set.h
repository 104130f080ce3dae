// One round of poll() over file descriptors that each come with their own handler: the parts of
// `lxe-init run` (signals, the workload's output and stdin, attach clients) say what they wait
// for, and one loop waits for all of them without knowing what they are.
#pragma once

#include <poll.h>

#include <cerrno>
#include <functional>
#include <system_error>
#include <utility>
#include <vector>

namespace lxe::init {

class PollSet {
 public:
  using Handler = std::function<void(short revents)>;

  void add(int fd, short events, Handler handler) {
    fds_.push_back({fd, events, 0});
    handlers_.push_back(std::move(handler));
  }

  // Waits up to `timeout_ms` (-1: for ever), then runs the handler of every fd with events, in the
  // order they were added. Handlers may add nothing here; the next round builds a new set. Throws
  // std::system_error when poll fails (EINTR is a round without events).
  void wait(int timeout_ms) {
    if (::poll(fds_.data(), fds_.size(), timeout_ms) < 0) {
      if (errno == EINTR) return;
      throw std::system_error(errno, std::generic_category(), "poll failed");
    }
    for (size_t i = 0; i < fds_.size(); ++i)
      if (fds_[i].revents != 0) handlers_[i](fds_[i].revents);
  }

 private:
  std::vector<pollfd> fds_;
  std::vector<Handler> handlers_;
};

}  // namespace lxe::init
