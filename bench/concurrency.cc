// 3. Concurrency: N clients, each on a connection of its own, each running whole pod lifecycles as
// fast as it can. Throughput, the lifecycle's and every call's p50 and p99, and the errors.
#include <atomic>
#include <functional>
#include <latch>
#include <map>
#include <mutex>
#include <thread>

#include "cri_client.h"
#include "progress.h"
#include "sections.h"

namespace lxe::bench {
namespace {

// One client: connects, waits for `go`, then runs its lifecycles into `row`.
void client(Node& node, int lifecycles, std::atomic<int>& pod_counter, std::latch& ready, const std::atomic<bool>& go,
            std::mutex& mutex, ConcRow& row) {
  Cri c(make_channel(node.lxe.config().socket));
  {
    // Connect before the clock starts.
    grpc::ClientContext ctx;
    set_deadline(ctx, kReadDeadline);
    cri::VersionResponse r;
    c.stub().Version(&ctx, cri::VersionRequest(), &r);
  }
  ready.count_down();
  while (!go.load()) std::this_thread::yield();
  for (int j = 0; j < lifecycles && !node.interrupts.requested(); ++j) {
    const auto pod = node.workload.pod("k" + std::to_string(pod_counter++));
    const auto ctr = node.workload.container("c", pod);
    std::map<std::string, double> calls;
    auto timed = [&](const std::string& name, const std::function<void()>& fn) {
      const auto s = Clock::now();
      fn();
      calls[name] = ms_since(s);
    };
    const auto life_start = Clock::now();
    std::string pod_id, id;
    try {
      timed("RunPodSandbox", [&] { pod_id = c.run_pod(pod); });
      timed("CreateContainer", [&] { id = c.create(pod_id, ctr, pod); });
      timed("StartContainer", [&] { c.start(id); });
      timed("StopContainer", [&] { c.stop(id, 0); });
      timed("RemoveContainer", [&] { c.remove(id); });
      timed("StopPodSandbox", [&] { c.stop_pod(pod_id); });
      timed("RemovePodSandbox", [&] { c.remove_pod(pod_id); });
      const double life = ms_since(life_start);
      std::lock_guard lock(mutex);
      row.lifecycle_ms.add(life);
      for (const auto& [k, v] : calls) row.calls_ms[k].add(v);
      ++row.lifecycles;
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(mutex);
        ++row.errors;
        row.error_texts.push_back(pod.metadata().name() + ": " + e.what());
      }
      if (!pod_id.empty()) {
        try {
          c.remove_pod(pod_id);
        } catch (...) {
        }
      }
    }
  }
}

}  // namespace

void concurrency(Node& node, Report& report) {
  std::atomic<int> pod_counter{0};
  for (const int n : node.options.clients) {
    node.interrupts.check();
    const int per_client = node.plan.lifecycles_per_client(n);
    note("concurrency: %d client(s) x %d pod lifecycle(s)", n, per_client);
    ConcRow row;
    row.clients = n;
    std::mutex mutex;
    std::latch ready(n);
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < n; ++t)
      threads.emplace_back([&] { client(node, per_client, pod_counter, ready, go, mutex, row); });
    ready.wait();
    const auto start = Clock::now();
    go = true;
    for (auto& t : threads) t.join();
    row.wall_s = ms_since(start) / 1000.0;
    note("  %d lifecycles in %.1f s, %d error(s)", row.lifecycles, row.wall_s, row.errors);
    for (const auto& e : row.error_texts) note("  error: %s", e.c_str());
    report.concurrency.push_back(std::move(row));
  }
  node.interrupts.check();
}

}  // namespace lxe::bench
