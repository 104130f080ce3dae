// PodSandboxStats and ListPodSandboxStats: a pod's numbers are its containers' (stats/ reads each
// one's cgroup) plus its namespace holder's (a pod whose namespaces lxe pinned has none), and its
// network is the counters of the pod's own network namespace: read through the holder's PID on the
// host, or from within the pinned namespace. Host network pods report no
// network: their namespace is the node's, whose traffic is not the pod's.
#include "common/time.h"
#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "cri/stats_of.h"
#include "cri/translate.h"
#include "reconcile/host_files.h"
#include "reconcile/pinned_namespaces.h"
#include "reconcile/pod_network.h"
#include "stats/stats_sources.h"

namespace lxe::cri {

namespace {

// `netns`: the pod's network namespace file (reconcile::pod_netns), "" when it is gone.
v1::PodSandboxStats pod_stats_of(const store::SandboxRecord& s, const std::vector<store::ContainerRecord>& containers,
                                 stats::StatsSources& sources, const std::string& netns) {
  v1::PodSandboxStats out;
  auto* attributes = out.mutable_attributes();
  attributes->set_id(s.id);
  auto* metadata = attributes->mutable_metadata();
  metadata->set_name(s.name);
  metadata->set_namespace_(s.namespace_);
  metadata->set_uid(s.uid);
  metadata->set_attempt(s.attempt);
  for (const auto& [k, v] : s.labels) (*attributes->mutable_labels())[k] = v;
  for (const auto& [k, v] : s.annotations) (*attributes->mutable_annotations())[k] = v;

  const int64_t now = now_ns();
  auto* linux = out.mutable_linux();
  // The holder's own use (lxe-init pause: next to nothing) counts for the pod, as the pause
  // container's does under containerd.
  const stats::CgroupSample holder = sources.cgroups.read(s.lxd_name);
  uint64_t cpu_ns = holder.cpu_usage_ns, usage = holder.memory_usage, working_set = holder.working_set,
           rss = holder.rss, faults = holder.page_faults, major = holder.major_page_faults, pids = holder.pids;
  for (const auto& c : containers) {
    if (c.sandbox_id != s.id || store::removed_for_cri(c)) continue;
    // Each container's cgroup is read once, for its own stats and the pod's sums alike.
    stats::CgroupSample sample;
    *linux->add_containers() = container_stats_of(c, sources, &sample);
    cpu_ns += sample.cpu_usage_ns;
    usage += sample.memory_usage;
    working_set += sample.working_set;
    rss += sample.rss;
    faults += sample.page_faults;
    major += sample.major_page_faults;
    pids += sample.pids;
  }
  auto* cpu = linux->mutable_cpu();
  cpu->set_timestamp(now);
  cpu->mutable_usage_core_nano_seconds()->set_value(cpu_ns);
  if (const auto rate = sources.cpu.rate("pod:" + s.id, cpu_ns, now)) cpu->mutable_usage_nano_cores()->set_value(*rate);
  auto* memory = linux->mutable_memory();
  memory->set_timestamp(now);
  memory->mutable_working_set_bytes()->set_value(working_set);
  memory->mutable_usage_bytes()->set_value(usage);
  memory->mutable_rss_bytes()->set_value(rss);
  memory->mutable_page_faults()->set_value(faults);
  memory->mutable_major_page_faults()->set_value(major);
  auto* process = linux->mutable_process();
  process->set_timestamp(now);
  process->mutable_process_count()->set_value(pids);

  if (!reconcile::in_host_network(s) && !netns.empty()) {
    auto* network = linux->mutable_network();
    network->set_timestamp(now);
    for (const auto& i : stats::parse_net_dev(reconcile::read_proc_net(netns, "dev").value_or(""))) {
      if (i.name == "lo") continue;
      v1::NetworkInterfaceUsage usage_of;
      usage_of.set_name(i.name);
      usage_of.mutable_rx_bytes()->set_value(i.rx_bytes);
      usage_of.mutable_rx_errors()->set_value(i.rx_errors);
      usage_of.mutable_tx_bytes()->set_value(i.tx_bytes);
      usage_of.mutable_tx_errors()->set_value(i.tx_errors);
      if (i.name == "eth0" || !network->has_default_interface()) *network->mutable_default_interface() = usage_of;
      *network->add_interfaces() = usage_of;
    }
  }
  return out;
}

}  // namespace

::grpc::Status RuntimeService::PodSandboxStats(::grpc::ServerContext*, const v1::PodSandboxStatsRequest* request,
                                               v1::PodSandboxStatsResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::SandboxRecord> s;
    if (auto status = find_sandbox(request->pod_sandbox_id(), s); !status.ok()) return status;
    if (!ctx_.stats) return failed_precondition("PodSandboxStats: this lxe reads no stats");
    *response->mutable_stats() = pod_stats_of(*s, ctx_.registry.containers_of(s->id), *ctx_.stats,
                                              reconcile::pod_netns(*s, ctx_.files.pod_namespaces_dir(s->id)));
    return ::grpc::Status::OK;
  });
}

::grpc::Status RuntimeService::ListPodSandboxStats(::grpc::ServerContext*, const v1::ListPodSandboxStatsRequest* request,
                                                   v1::ListPodSandboxStatsResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    if (!ctx_.stats) return failed_precondition("ListPodSandboxStats: this lxe reads no stats");
    const auto& filter = request->filter();
    std::vector<store::SandboxRecord> chosen;
    ctx_.registry.for_each_sandbox([&](const store::SandboxRecord& s) {
      if (store::removed_for_cri(s)) return;
      if (request->has_filter()) {
        if (!filter.id().empty() && s.id.rfind(filter.id(), 0) != 0) return;
        if (!labels_match(s.labels, filter.label_selector())) return;
      }
      chosen.push_back(s);
    });
    std::vector<store::ContainerRecord> containers;
    ctx_.registry.for_each_container([&](const store::ContainerRecord& c) {
      if (!store::removed_for_cri(c)) containers.push_back(c);
    });
    for (const auto& s : chosen) *response->add_stats() = pod_stats_of(s, containers, *ctx_.stats, reconcile::pod_netns(s, ctx_.files.pod_namespaces_dir(s.id)));
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
