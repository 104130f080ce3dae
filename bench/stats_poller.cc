#include "stats_poller.h"

namespace lxe::bench {

PollWindow poll_window(Clock::time_point t0, Clock::duration period, Clock::time_point now, Clock::duration slack) {
  const Clock::duration half = period / 2;
  // The first k ≥ 1 with t0 + k·period - half ≥ now - slack.
  const Clock::duration from = now - slack + half - t0;
  int64_t k = from.count() <= 0 ? 1 : (from.count() + period.count() - 1) / period.count();
  if (k < 1) k = 1;
  const Clock::time_point tick = t0 + k * period;
  return PollWindow{tick - half, tick, tick - half + period};
}

namespace {

PollInfo info_for(Clock::duration period) {
  PollInfo info;
  info.period_s = std::chrono::duration<double>(period).count();
  return info;
}

}  // namespace

StatsPoller::StatsPoller(std::shared_ptr<grpc::Channel> channel, Clock::duration period)
    : channel_(std::move(channel)),
      period_(period),
      t0_(Clock::now()),
      info_(info_for(period)),
      thread_([this] { loop(); }) {}

StatsPoller::~StatsPoller() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

PollWindow StatsPoller::next_window() const { return poll_window(t0_, period_, Clock::now(), period_ / 10); }

bool StatsPoller::arm(Clock::time_point tick, bool poll) {
  std::lock_guard lock(mutex_);
  if (passed_tick_ >= tick) return false;
  armed_tick_ = poll ? tick : Clock::time_point{};
  return true;
}

void StatsPoller::wait_done(Clock::time_point tick) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return passed_tick_ >= tick && !in_flight_; });
}

PollInfo StatsPoller::results() const {
  std::lock_guard lock(mutex_);
  return info_;
}

// Every tick in turn. A tick reached late (after a long poll) still polls if it was armed: the
// window around it asked for one.
void StatsPoller::loop() {
  Cri client(channel_);
  std::unique_lock lock(mutex_);
  for (int64_t k = 1;; ++k) {
    const Clock::time_point tick = t0_ + k * period_;
    if (changed_.wait_until(lock, tick, [this] { return stopping_; })) return;
    passed_tick_ = tick;
    if (armed_tick_ == tick) {
      in_flight_ = true;
      lock.unlock();
      poll_once(client);
      lock.lock();
      in_flight_ = false;
    }
    changed_.notify_all();
  }
}

// One poll, as kubelet's: every container's stats, then every pod's. Failures are counted, not
// thrown: the report says how many.
void StatsPoller::poll_once(Cri& client) {
  std::string error;
  double containers_ms = -1, pods_ms = -1;
  try {
    auto start = Clock::now();
    client.call<cri::ListContainerStatsRequest, cri::ListContainerStatsResponse>(
        "ListContainerStats", &cri::RuntimeService::Stub::ListContainerStats, cri::ListContainerStatsRequest());
    containers_ms = ms_since(start);
    start = Clock::now();
    client.call<cri::ListPodSandboxStatsRequest, cri::ListPodSandboxStatsResponse>(
        "ListPodSandboxStats", &cri::RuntimeService::Stub::ListPodSandboxStats, cri::ListPodSandboxStatsRequest());
    pods_ms = ms_since(start);
  } catch (const std::exception& e) {
    error = e.what();
  }
  std::lock_guard lock(mutex_);
  ++info_.polls;
  if (containers_ms >= 0) info_.container_stats_ms.add(containers_ms);
  if (pods_ms >= 0) info_.pod_stats_ms.add(pods_ms);
  if (!error.empty()) {
    if (info_.errors++ == 0) info_.first_error = error;
  }
}

}  // namespace lxe::bench
