// 2. Lifecycle overhead vs raw LXD: each call of a pod lifecycle through lxe, against the same LXD
// work done directly (raw_lxd.h), one whole lifecycle of each in turn. lxe runs at debug level
// here: its log times every LXD request, which splits each call into LXD's time and lxe's own.
#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <unistd.h>

#include "cri_client.h"
#include "host.h"
#include "lxd_sweep.h"
#include "lxe_log.h"
#include "progress.h"
#include "raw_lxd.h"
#include "reconcile/ready_instances.h"
#include "sections.h"

namespace lxe::bench {
namespace {

// One CRI call through lxe: when, and how long.
struct CallWindow {
  std::string name;
  SysTime start, end;
  double ms = 0;
};

// One pod lifecycle through lxe. Returns its total; `windows` gets each call.
// With `image`, the container runs that image instead of the workload's (a peer runtime names it
// differently).
double lxe_lifecycle(Node& node, Cri& c, const std::string& pod_name, std::vector<CallWindow>& windows,
                     const std::string& image = "") {
  const auto pod = node.workload.pod(pod_name);
  auto ctr = node.workload.container("c", pod);
  if (!image.empty()) ctr.mutable_image()->set_image(image);
  double sum = 0;
  auto timed = [&](const std::string& name, const std::function<void()>& fn) {
    const auto sys_start = std::chrono::system_clock::now();
    const auto start = Clock::now();
    fn();
    const double ms = ms_since(start);
    sum += ms;
    windows.push_back({name, sys_start, std::chrono::system_clock::now(), ms});
  };
  std::string pod_id, id;
  timed("RunPodSandbox", [&] { pod_id = c.run_pod(pod); });
  try {
    timed("CreateContainer", [&] { id = c.create(pod_id, ctr, pod); });
    timed("StartContainer", [&] { c.start(id); });
    timed("StopContainer", [&] { c.stop(id, 0); });
    timed("RemoveContainer", [&] { c.remove(id); });
  } catch (...) {
    try {
      c.remove_pod(pod_id);
    } catch (...) {
    }
    throw;
  }
  timed("StopPodSandbox", [&] { c.stop_pod(pod_id); });
  timed("RemovePodSandbox", [&] { c.remove_pod(pod_id); });
  return sum;
}

// The same lifecycle made directly against LXD. Returns its total; `ms` gets each call.
double raw_lifecycle(Node& node, const RawLxd& raw, const std::string& pod_name, std::map<std::string, double>& ms) {
  auto pod = raw.pod(node.workload.pod(pod_name));
  auto ctr = raw.container(pod, node.workload.container("c", pod.config));
  double sum = 0;
  auto timed = [&](const std::string& name, const std::function<void()>& fn) {
    const auto start = Clock::now();
    fn();
    ms[name] = ms_since(start);
    sum += ms[name];
  };
  timed("RunPodSandbox", [&] { raw.run_pod(pod); });
  timed("CreateContainer", [&] { raw.create(ctr, pod); });
  timed("StartContainer", [&] { raw.start(ctr); });
  timed("StopContainer", [&] { raw.stop(ctr); });
  timed("RemoveContainer", [&] { raw.remove(ctr); });
  timed("StopPodSandbox", [&] { raw.stop_pod(pod); });
  timed("RemovePodSandbox", [&] { raw.remove_pod(pod); });
  return sum;
}

// lxe answers RemoveContainer and RemovePodSandbox before LXD has deleted the objects (its
// reconciler deletes them about a second later, once LXD's teardown is over). Waited for, untimed,
// before the next runtime's lifecycle, so that those deletes do not land in its measurements; so
// is the ready instance lxe makes in the background.
void wait_for_lxe_deletes(Node& node, const std::string& pod_name) {
  const std::string prefix = node.options.prefix + "-" + pod_name + "-";
  const auto left = [&] {
    for (const auto& instance : node.lxd.list_instances())
      if (instance.name.rfind(prefix, 0) == 0) return true;
    for (const auto& profile : node.lxd.list_profiles())
      if (profile.name.rfind(prefix, 0) == 0) return true;
    return false;
  };
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (left() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // And for the instance lxe's keeper makes ready in place of the one CreateContainer claimed
  // (--ready-instances, default 1; the keeper waits 0.5 s after a claim): its create, start and
  // stop must not land in the next runtime's measurements either. Made: stopped after its one
  // start (LXD recorded the shifted rootfs), then a moment for the keeper's last GET.
  const std::string ready = node.options.prefix + "--ready-";
  const auto made = [&] {
    for (const auto& instance : node.lxd.list_instances()) {
      if (instance.name.rfind(ready, 0) != 0) continue;
      const auto facts = reconcile::ready_instance_facts(instance);
      if (facts.shifted && !facts.running) return true;
    }
    return false;
  };
  const auto ready_deadline = Clock::now() + std::chrono::seconds(10);
  while (!made() && Clock::now() < ready_deadline) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // LXD shows it stopped before its teardown ends
}

}  // namespace

std::vector<LifeRow> lifecycle(Node& node) {
  const Plan& plan = node.plan;
  note("lifecycle: %d lxe and %d raw-LXD lifecycles, interleaved, after %d warm-up(s) of each",
       plan.lifecycle_iterations, plan.lifecycle_iterations, plan.lifecycle_warmups);
  const bool restart = node.options.lxe_log_level != "debug";
  if (restart) {
    node.lxe.stop(SIGTERM);
    node.lxe.start("debug");
  }
  RawLxd raw(node.lxd, node.options.prefix, node.tmp + "/raw", node.tmp + "/bin/lxe-init",
             {{kMarkKey, std::to_string(getpid())}});
  raw.use_storage_pool(node.options.storage_pool);
  Cri c(node.lxe.channel());
  // The peer runtime (containerd...), through the same client code, when there is one.
  std::unique_ptr<Cri> peer;
  if (!node.options.peer_socket.empty()) peer = std::make_unique<Cri>(make_channel(node.options.peer_socket));
  const std::string peer_image = node.options.peer_image.empty() ? node.options.image : node.options.peer_image;
  std::map<std::string, Samples> peer_ms;
  std::vector<CallWindow> windows;
  std::map<std::string, Samples> lxe_ms, raw_ms;
  Samples lxe_total, raw_total, peer_total;
  for (int i = 0; i < plan.lifecycle_warmups + plan.lifecycle_iterations; ++i) {
    const bool warmup = i < plan.lifecycle_warmups;
    node.interrupts.check();
    std::vector<CallWindow> lxe_windows;
    const double lxe_sum = lxe_lifecycle(node, c, "l" + std::to_string(i), lxe_windows);
    wait_for_lxe_deletes(node, "l" + std::to_string(i));
    node.interrupts.check();
    std::map<std::string, double> raw_calls;
    const double raw_sum = raw_lifecycle(node, raw, "r" + std::to_string(i), raw_calls);
    if (peer) {
      node.interrupts.check();
      std::vector<CallWindow> peer_windows;
      const double peer_sum = lxe_lifecycle(node, *peer, "x" + std::to_string(i), peer_windows, peer_image);
      if (!warmup) {
        for (const auto& w : peer_windows) peer_ms[w.name].add(w.ms);
        peer_total.add(peer_sum);
      }
    }
    if (warmup) continue;
    for (const auto& w : lxe_windows) lxe_ms[w.name].add(w.ms);
    windows.insert(windows.end(), lxe_windows.begin(), lxe_windows.end());
    for (const auto& [name, ms] : raw_calls) raw_ms[name].add(ms);
    lxe_total.add(lxe_sum);
    raw_total.add(raw_sum);
  }
  // Each call split into its LXD requests and the rest, from lxe's log.
  const auto requests = lxd_requests_in_log(read_file(node.lxe.log_path()));
  const auto& calls = lifecycle_calls();
  std::map<std::string, Samples> own_ms, lxd_ms, lxd_count;
  Samples own_total, lxd_total, count_total;
  for (size_t w = 0; w + calls.size() <= windows.size(); w += calls.size()) {
    double own = 0, in_lxd = 0, n = 0;
    for (size_t k = 0; k < calls.size(); ++k) {
      const auto& win = windows[w + k];
      const CallSplit split = split_call(requests, win.start, win.end, win.ms);
      own_ms[win.name].add(win.ms - split.in_lxd_ms);
      lxd_ms[win.name].add(split.in_lxd_ms);
      lxd_count[win.name].add(split.requests);
      own += win.ms - split.in_lxd_ms;
      in_lxd += split.in_lxd_ms;
      n += split.requests;
    }
    own_total.add(own);
    lxd_total.add(in_lxd);
    count_total.add(n);
  }
  std::vector<LifeRow> rows;
  for (const auto& name : calls)
    rows.push_back(LifeRow{name, RawLxd::steps().at(name), lxe_ms[name], raw_ms[name], lxd_ms[name], own_ms[name],
                           lxd_count[name], peer_ms[name]});
  rows.push_back(LifeRow{"whole lifecycle (sum of the seven)", "all of the above", lxe_total, raw_total, lxd_total,
                         own_total, count_total, peer_total});
  if (restart) {
    node.lxe.stop(SIGTERM);
    node.lxe.start(node.options.lxe_log_level);
  }
  return rows;
}

}  // namespace lxe::bench
