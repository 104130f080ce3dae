#include "interrupts.h"

#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace lxe::bench {

// SIGUSR1 is how the destructor wakes the thread: it is blocked like the others, so it is only
// ever taken by sigwait.
Interrupts::Interrupts(std::string prefix) : prefix_(std::move(prefix)) {
  sigemptyset(&signals_);
  for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&signals_, sig);
  pthread_sigmask(SIG_BLOCK, &signals_, &old_mask_);
  thread_ = std::thread([this] { wait_for_signals(); });
}

Interrupts::~Interrupts() {
  closing_ = true;
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
  // A SIGUSR1 that arrived after the thread's last sigwait would stay pending: take it first.
  const timespec zero{};
  sigset_t wake;
  sigemptyset(&wake);
  sigaddset(&wake, SIGUSR1);
  while (sigtimedwait(&wake, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

void Interrupts::wait_for_signals() {
  int count = 0;
  while (true) {
    int sig = 0;
    if (sigwait(&signals_, &sig) != 0) continue;
    if (closing_.load()) return;
    if (sig == SIGUSR1) continue;  // not ours to act on
    if (++count == 1) {
      std::fprintf(stderr, "\n[bench] %s: stopping; cleaning up (a second signal exits without cleaning up)\n",
                   strsignal(sig));
      request();
    } else {
      std::fprintf(stderr,
                   "\n[bench] %s again: exiting now. Remove what is left with:\n  lxe-bench --sweep-only --prefix %s\n",
                   strsignal(sig), prefix_.c_str());
      _exit(130);
    }
  }
}

}  // namespace lxe::bench
