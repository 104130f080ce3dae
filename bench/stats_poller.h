// kubelet's stats polling, imitated for the stats section: a thread with a connection of its own
// asks lxe for ListContainerStats and ListPodSandboxStats (every container and pod, no filter) at
// steady ticks one period apart, while the hot path is measured on another connection.
//
// Why windows: to compare the hot path idle and while stats are polled, in the same minute of a
// shared machine, each RPC is measured in windows one period long, centred on the poller's ticks,
// that alternate between idle and polled. The poller polls at a tick only when the window around
// it was armed as a polled one: a polled window holds exactly one poll and an idle window none,
// which is what a steady poll once per period puts into any period of time.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "cri_client.h"
#include "results.h"
#include "stats.h"

namespace lxe::bench {

struct PollWindow {
  Clock::time_point start, tick, end;  // end - start = the period; tick in the middle
};

// The window around the first tick t0 + k·period (k ≥ 1) that starts at `now - slack` or later:
// a window that began up to `slack` ago is still taken, so that back-to-back windows do not skip
// one because the last call of the previous window ended a little after it.
PollWindow poll_window(Clock::time_point t0, Clock::duration period, Clock::time_point now, Clock::duration slack);

class StatsPoller {
 public:
  // Starts the thread; its ticks count from now.
  StatsPoller(std::shared_ptr<grpc::Channel> channel, Clock::duration period);
  // Stops the thread (a poll in flight ends first).
  ~StatsPoller();
  StatsPoller(const StatsPoller&) = delete;
  StatsPoller& operator=(const StatsPoller&) = delete;

  // The next window to measure in (poll_window with a tenth of a period of slack).
  PollWindow next_window() const;
  // Whether the poller polls at `tick` (a tick of next_window()); other ticks pass without a poll.
  // False when the poller has passed `tick` already (the caller was held up): take the next window.
  bool arm(Clock::time_point tick, bool poll);
  // Returns once the poller has passed `tick` and finished its poll there, if it made one.
  void wait_done(Clock::time_point tick);
  // What the polls took so far (period_s, polls, errors and the two samples).
  PollInfo results() const;

 private:
  void loop();
  void poll_once(Cri& client);

  const std::shared_ptr<grpc::Channel> channel_;
  const Clock::duration period_;
  const Clock::time_point t0_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  bool in_flight_ = false;
  Clock::time_point armed_tick_{};  // the one tick to poll at
  Clock::time_point passed_tick_{};  // the last tick the poller has reached
  PollInfo info_;
  std::thread thread_;  // last: it starts once everything above exists
};

}  // namespace lxe::bench
