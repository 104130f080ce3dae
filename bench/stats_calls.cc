// 6. Stats over the whole node: ListContainerStats (every container) and ListPodSandboxStats
// (every pod) through lxe, which reads the containers' cgroups on the host, against the raw-LXD
// way to the numbers of every container: GET /1.0/instances/<name>/state of each, one after the
// other, with the same LXD client. (A list with state, recursion=2, would be one request, but LXD
// computes the state of every instance it has before it applies a filter, the pods' holders and
// anyone else's instances included: its time would depend on what else is in LXD.) lxe's calls and
// the raw sweeps alternate, in rounds, so that load elsewhere on the machine hits both alike.
#include "cri_client.h"
#include "progress.h"
#include "sections.h"

namespace lxe::bench {
namespace {

using Stub = cri::RuntimeService::Stub;

// The LXD instances of the node's running containers, from lxe's verbose ContainerStatus.
std::vector<std::string> running_instances(Node& node, Cri& lxe) {
  std::vector<std::string> names;
  for (const auto& p : node.pods)
    for (const auto& id : p.running) {
      const std::string name = lxe.container_info(id).value("lxdInstance", "");
      if (name.empty())
        throw std::runtime_error("stats: lxe's verbose ContainerStatus of " + id + " names no LXD instance");
      names.push_back(name);
    }
  return names;
}

// One raw sweep: every instance's /state. Returns how many LXD said run with some CPU time.
int raw_sweep(const Node& node, const std::vector<std::string>& names) {
  int running = 0;
  for (const auto& name : names) {
    node.interrupts.check();
    const lxd::InstanceState state = node.lxd.get_instance_state(name);
    const auto cpu = state.raw.find("cpu");
    const bool has_cpu = cpu != state.raw.end() && cpu->is_object() && cpu->value("usage", int64_t{0}) > 0;
    if (state.status == "Running" && has_cpu) ++running;
  }
  return running;
}

}  // namespace

void stats_calls(Node& node, Report& report) {
  const Plan& plan = node.plan;
  Cri lxe(node.lxe.channel());
  const std::vector<std::string> names = running_instances(node, lxe);
  const int rounds = std::max(1, plan.stats_raw_sweeps);
  const int per_round = std::max(1, plan.stats_calls / rounds);
  note("stats at %s: %d x ListContainerStats and ListPodSandboxStats, %d raw sweep(s) of %zu /state, interleaved",
       node.population().c_str(), per_round * rounds, rounds, names.size());

  StatsRow containers, pods;
  containers.rpc = "ListContainerStats";
  containers.raw_what = "GET /1.0/instances/<name>/state of each running container, one after another";
  containers.raw_instances = static_cast<int>(names.size());
  pods.rpc = "ListPodSandboxStats";

  cri::ListContainerStatsResponse last_containers;
  cri::ListPodSandboxStatsResponse last_pods;
  auto list_containers = [&] {
    last_containers = lxe.call<cri::ListContainerStatsRequest, cri::ListContainerStatsResponse>(
        "ListContainerStats", &Stub::ListContainerStats, cri::ListContainerStatsRequest());
  };
  auto list_pods = [&] {
    last_pods = lxe.call<cri::ListPodSandboxStatsRequest, cri::ListPodSandboxStatsResponse>(
        "ListPodSandboxStats", &Stub::ListPodSandboxStats, cri::ListPodSandboxStatsRequest());
  };
  // `per_round` calls back to back, into `row`, with lxe's CPU time meanwhile.
  auto measure = [&](StatsRow& row, const auto& call) {
    const double cpu0 = cpu_seconds(node.lxe.pid());
    for (int i = 0; i < per_round; ++i) {
      node.interrupts.check();
      const auto start = Clock::now();
      call();
      row.lxe.add(ms_since(start));
    }
    row.lxe_cpu_s += cpu_seconds(node.lxe.pid()) - cpu0;
  };

  for (int i = 0; i < 5; ++i) {  // warm-up: the connection, and a first CPU sample of every container
    list_containers();
    list_pods();
  }
  for (int round = 0; round < rounds; ++round) {
    measure(containers, list_containers);
    measure(pods, list_pods);
    const auto start = Clock::now();
    containers.raw_running = raw_sweep(node, names);
    containers.raw.add(ms_since(start));
    note("  round %d/%d: ListContainerStats p50 %.2f ms, ListPodSandboxStats p50 %.2f ms, raw sweep %.0f ms", round + 1,
         rounds, containers.lxe.median(), pods.lxe.median(), ms_since(start));
  }

  containers.entries = last_containers.stats_size();
  for (const auto& s : last_containers.stats())
    if (s.cpu().usage_core_nano_seconds().value() > 0) ++containers.with_cpu;
  containers.reply_bytes = last_containers.ByteSizeLong();
  pods.entries = last_pods.stats_size();
  for (const auto& s : last_pods.stats())
    if (s.linux().cpu().usage_core_nano_seconds().value() > 0) ++pods.with_cpu;
  pods.reply_bytes = last_pods.ByteSizeLong();
  report.stats_population = node.population();
  report.stats.push_back(std::move(containers));
  report.stats.push_back(std::move(pods));
}

}  // namespace lxe::bench
