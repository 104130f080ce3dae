// 6. The hot path while stats are polled: the hot path's RPCs (hot_calls.h) on one connection, each
// measured in windows one poll period long that alternate between idle and polled, while a second
// connection polls ListContainerStats and ListPodSandboxStats as kubelet does, only more often
// (stats_poller.h).
// The order of the two windows alternates from round to round.
#include <thread>

#include "cri_client.h"
#include "hot_calls.h"
#include "progress.h"
#include "sections.h"
#include "stats_poller.h"

namespace lxe::bench {

void hot_path_polled(Node& node, Report& report) {
  const Plan& plan = node.plan;
  const HotCalls calls(node.pods);
  const std::vector<Rpc>& rpcs = calls.rpcs();
  Cri lxe(node.lxe.channel());
  note("hot path while stats are polled, at %s: %zu RPCs x %d round(s) of an idle and a polled %d ms window",
       node.population().c_str(), rpcs.size(), plan.polled_rounds, plan.poll_period_ms);

  std::vector<PolledRow> rows(rpcs.size());
  for (size_t i = 0; i < rpcs.size(); ++i) {
    rows[i].rpc = rpcs[i].name;
    rows[i].size = std::to_string(node.containers());
    for (int w = 0; w < 50; ++w) {  // warm-up
      grpc::ClientContext ctx;
      set_deadline(ctx, kReadDeadline);
      rpcs[i].call(lxe.stub(), &ctx);
    }
  }

  StatsPoller poller(make_channel(node.lxe.config().socket), std::chrono::milliseconds(plan.poll_period_ms));
  int polled_windows = 0;
  for (int round = 0; round < plan.polled_rounds; ++round) {
    for (size_t i = 0; i < rpcs.size(); ++i) {
      for (int half = 0; half < 2; ++half) {
        const bool polled = (half == 0) == (round % 2 == 1);
        node.interrupts.check();
        PollWindow window = poller.next_window();
        while (!poller.arm(window.tick, polled)) window = poller.next_window();
        std::this_thread::sleep_until(window.start);
        Samples& into = polled ? rows[i].polled : rows[i].idle;
        while (Clock::now() < window.end) {
          grpc::ClientContext ctx;
          set_deadline(ctx, kReadDeadline);
          const auto start = Clock::now();
          const grpc::Status status = rpcs[i].call(lxe.stub(), &ctx);
          const double us = us_since(start);
          if (!status.ok()) throw CallError("lxe " + rpcs[i].name + " (stats polled): " + describe(status));
          into.add(us);
        }
        poller.wait_done(window.tick);  // a poll never spills into the next window
        if (polled) ++polled_windows;
      }
    }
    note("  round %d/%d done", round + 1, plan.polled_rounds);
  }
  PollInfo info = poller.results();
  info.rounds = plan.polled_rounds;
  info.polled_windows = polled_windows;
  if (info.errors > 0) note("  %d poll(s) failed: %s", info.errors, info.first_error.c_str());
  for (auto& row : rows) report.polled.push_back(std::move(row));
  report.poll = std::move(info);
}

}  // namespace lxe::bench
