#include "reconcile/bridge_keeper.h"

#include <spdlog/spdlog.h>

namespace lxe::reconcile {

BridgeKeeper::BridgeKeeper(const Bridge& bridge, std::chrono::milliseconds interval)
    : bridge_(bridge), interval_(interval) {}

BridgeKeeper::~BridgeKeeper() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BridgeKeeper::start() { thread_ = std::thread([this] { loop(); }); }

BridgeKeeper::Check BridgeKeeper::check() {
  Check result;
  try {
    bridge_.ensure();
  } catch (const BridgeMismatch& e) {
    result = {e.what(), true};
  } catch (const std::exception& e) {
    result = {e.what(), false};
  }
  const std::string& problem = result.problem;
  std::lock_guard lock(mutex_);
  if (problem != problem_) {
    if (problem.empty())
      spdlog::info("pod network: the bridge is ready");
    else
      spdlog::warn("pod network: {}", problem);
  }
  problem_ = problem;
  return result;
}

std::string BridgeKeeper::problem() const {
  std::lock_guard lock(mutex_);
  return problem_;
}

void BridgeKeeper::loop() {
  for (;;) {
    check();
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) return;
  }
}

}  // namespace lxe::reconcile
