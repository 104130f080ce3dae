// SIGINT, SIGTERM and SIGHUP, taken by a thread of their own: the first asks the bench to stop and
// clean up (requested() turns true, check() throws), a second one exits at once and says how to
// remove what is left.
#pragma once

#include <signal.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

namespace lxe::bench {

struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted by a signal") {}
};

class Interrupts {
 public:
  // Blocks the signals in the calling thread; threads started afterwards inherit the mask, so
  // construct it before any other thread exists. `prefix`: the run's, for the second signal's hint.
  explicit Interrupts(std::string prefix);
  // Ends the signal thread and restores the signal mask; destroy it in the thread that made it.
  ~Interrupts();
  Interrupts(const Interrupts&) = delete;
  Interrupts& operator=(const Interrupts&) = delete;

  // What the first signal does.
  void request() { requested_ = true; }
  bool requested() const { return requested_.load(); }
  void check() const {
    if (requested()) throw Interrupted();
  }

 private:
  void wait_for_signals();

  std::string prefix_;
  sigset_t signals_{};
  sigset_t old_mask_{};
  std::atomic<bool> requested_{false};
  std::atomic<bool> closing_{false};
  std::thread thread_;
};

}  // namespace lxe::bench
