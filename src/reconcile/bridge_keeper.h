// The thread that keeps lxe's bridge there in bridge mode, and remembers for CRI Status whether it is.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "reconcile/pod_network.h"

namespace lxe::reconcile {

// Keeps the bridge there: checks it (making it again when it is gone) at start and every
// `interval` on a thread of its own, and remembers the outcome for CRI Status, which must never
// wait on LXD.
class BridgeKeeper {
 public:
  BridgeKeeper(const Bridge& bridge, std::chrono::milliseconds interval);
  ~BridgeKeeper();  // stops and joins the thread
  BridgeKeeper(const BridgeKeeper&) = delete;
  BridgeKeeper& operator=(const BridgeKeeper&) = delete;

  void start();
  // Checks (and repairs) now, on the caller's thread.
  struct Check {
    std::string problem;     // "" when the bridge is ready
    bool mismatch = false;   // LXD has another network of that name (BridgeMismatch)
  };
  Check check();
  // The last check's problem; "" when the bridge was as configured. Before the first check:
  // "not checked yet".
  std::string problem() const;

 private:
  void loop();

  const Bridge& bridge_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string problem_ = "the bridge has not been checked yet";
  std::thread thread_;
};

}  // namespace lxe::reconcile
