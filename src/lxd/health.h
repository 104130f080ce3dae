// Whether LXD answers, checked in the background so that CRI Status (polled by kubelet) never
// waits on LXD.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "lxd/api.h"

namespace lxe::lxd {

struct Health {
  bool reachable = false;
  std::string reason;          // machine-readable, CRI-condition style: LXDUnreachable, ...
  std::string message;         // for a person: what failed and on which socket
  std::string server_version;  // when reachable
  std::chrono::system_clock::time_point checked_at;
};

class HealthMonitor {
 public:
  // Checks once before returning, so the first answer is a real one, then every `interval`.
  HealthMonitor(const Api& lxd, std::chrono::milliseconds interval);
  ~HealthMonitor();  // stops and joins the checker thread
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  Health current() const;
  // Checks now (bounded by the timeouts of `lxd`) and records the result.
  Health check_now();

 private:
  void run();

  const Api& lxd_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  Health health_;
  std::thread thread_;
};

}  // namespace lxe::lxd
