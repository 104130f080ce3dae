// `lxe-init pause`: PID 1 of a pod sandbox's infra container. It only holds the pod's namespaces:
// it sleeps, reaps whatever gets reparented to it, and exits 0 when asked to stop.
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include "init/modes.h"
#include "init/sys.h"

namespace lxe::init {

namespace {

// The pod's network namespace is made by LXC for this container, with a loopback device that
// nothing has brought up (in a system container the image's init scripts would). Containers of the
// pod talk over 127.0.0.1, so the holder brings it up. Failing here is reported, not fatal.
void bring_loopback_up() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    message("cannot bring up lo: socket: " + errno_text(errno));
    return;
  }
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(fd, SIOCGIFFLAGS, &request) == 0) {
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    if (::ioctl(fd, SIOCSIFFLAGS, &request) != 0) message("cannot bring up lo: " + errno_text(errno));
  } else {
    message("cannot read the flags of lo: " + errno_text(errno));
  }
  ::close(fd);
}

}  // namespace

int pause_forever() {
  bring_loopback_up();
  // SIGHUP is taken only so that it is ignored when we are not PID 1: a hang-up of whatever
  // terminal started us must not take the pod's namespaces down.
  Fd signals = block_signals_into_fd({SIGCHLD, SIGTERM, SIGINT, SIGPWR, SIGHUP});
  become_subreaper_unless_pid1();
  while (true) {
    pollfd fd{signals.get(), POLLIN, 0};
    if (::poll(&fd, 1, -1) < 0 && errno != EINTR) {
      message("poll failed: " + errno_text(errno));
      return 1;
    }
    while (const int sig = next_signal(signals.get())) {
      if (sig == SIGCHLD) {
        while (::waitpid(-1, nullptr, WNOHANG) > 0) {
        }
      } else if (sig != SIGHUP) {
        return 0;
      }
    }
  }
}

}  // namespace lxe::init
