#include "lxd/health.h"

#include <spdlog/spdlog.h>

namespace lxe::lxd {

HealthMonitor::HealthMonitor(const Api& lxd, std::chrono::milliseconds interval)
    : lxd_(lxd), interval_(interval) {
  check_now();
  thread_ = std::thread([this] { run(); });
}

HealthMonitor::~HealthMonitor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Health HealthMonitor::current() const {
  std::lock_guard lock(mutex_);
  return health_;
}

Health HealthMonitor::check_now() {
  Health h;
  try {
    const ServerInfo info = lxd_.server_info();
    h.reachable = true;
    h.server_version = info.server_version;
  } catch (const Error& e) {
    h.reachable = false;
    h.reason = e.unavailable() ? "LXDUnreachable" : "LXDError";
    h.message = "LXD at " + lxd_.socket_path() + " does not answer: " + e.what();
  }
  h.checked_at = std::chrono::system_clock::now();
  std::lock_guard lock(mutex_);
  if (h.reachable != health_.reachable || health_.checked_at.time_since_epoch().count() == 0) {
    if (h.reachable)
      spdlog::info("LXD {} answers on {}", h.server_version, lxd_.socket_path());
    else
      spdlog::warn("{}", h.message);
  }
  health_ = h;
  return h;
}

void HealthMonitor::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    check_now();
    lock.lock();
  }
}

}  // namespace lxe::lxd
