// ContainerStats and ListContainerStats: CPU, memory and process numbers read on the host from
// each container's cgroup (stats/cgroup_stats.h), never from LXD. A container that does not run
// has well-formed stats of zeros. The writable layer is the last complete measurement of the
// container's rootfs, from a cache a background thread keeps (stats/writable_layer.h); unset
// while its usage is not known.
#include "common/time.h"
#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "cri/stats_of.h"
#include "cri/translate.h"
#include "stats/stats_sources.h"

namespace lxe::cri {

v1::ContainerStats container_stats_of(const store::ContainerRecord& c, stats::StatsSources& sources,
                                      stats::CgroupSample* read) {
  v1::ContainerStats out;
  auto* attributes = out.mutable_attributes();
  attributes->set_id(c.id);
  attributes->mutable_metadata()->set_name(c.name);
  attributes->mutable_metadata()->set_attempt(c.attempt);
  for (const auto& [k, v] : c.labels) (*attributes->mutable_labels())[k] = v;
  for (const auto& [k, v] : c.annotations) (*attributes->mutable_annotations())[k] = v;

  const int64_t now = now_ns();
  // An exited container's instance may still be on its way down for a moment (lxe-init exits
  // after it recorded the exit, then LXD tears the instance down): what is left in its cgroup is
  // no longer the container's workload.
  const stats::CgroupSample sample = c.observed_state == store::ContainerObserved::Exited
                                         ? stats::CgroupSample{}
                                         : sources.cgroups.read(c.lxd_name);
  if (read) *read = sample;
  auto* cpu = out.mutable_cpu();
  cpu->set_timestamp(now);
  cpu->mutable_usage_core_nano_seconds()->set_value(sample.cpu_usage_ns);
  if (sample.present) {
    if (const auto rate = sources.cpu.rate(c.id, sample.cpu_usage_ns, now)) cpu->mutable_usage_nano_cores()->set_value(*rate);
  } else {
    sources.cpu.forget(c.id);
    cpu->mutable_usage_nano_cores()->set_value(0);
  }
  auto* memory = out.mutable_memory();
  memory->set_timestamp(now);
  memory->mutable_working_set_bytes()->set_value(sample.working_set);
  memory->mutable_usage_bytes()->set_value(sample.memory_usage);
  memory->mutable_rss_bytes()->set_value(sample.rss);
  memory->mutable_page_faults()->set_value(sample.page_faults);
  memory->mutable_major_page_faults()->set_value(sample.major_page_faults);
  if (sources.writable_layers) {
    if (const auto layer = sources.writable_layers->usage(c.id, c.lxd_name)) {
      auto* writable = out.mutable_writable_layer();
      writable->set_timestamp(layer->measured_at_ns);
      writable->mutable_fs_id()->set_mountpoint(layer->mount_point);
      writable->mutable_used_bytes()->set_value(layer->used_bytes);
      writable->mutable_inodes_used()->set_value(layer->inodes_used);
    }
  }
  return out;
}

::grpc::Status RuntimeService::ContainerStats(::grpc::ServerContext*, const v1::ContainerStatsRequest* request,
                                              v1::ContainerStatsResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::ContainerRecord> c;
    if (auto status = find_container(request->container_id(), c); !status.ok()) return status;
    if (!ctx_.stats) return failed_precondition("ContainerStats: this lxe reads no stats");
    *response->mutable_stats() = container_stats_of(*c, *ctx_.stats);
    return ::grpc::Status::OK;
  });
}

::grpc::Status RuntimeService::ListContainerStats(::grpc::ServerContext*, const v1::ListContainerStatsRequest* request,
                                                  v1::ListContainerStatsResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    if (!ctx_.stats) return failed_precondition("ListContainerStats: this lxe reads no stats");
    const auto& filter = request->filter();
    // The records are copied out first: the cgroup reads happen without the registry's lock.
    std::vector<store::ContainerRecord> chosen;
    ctx_.registry.for_each_container([&](const store::ContainerRecord& c) {
      if (store::removed_for_cri(c)) return;
      if (request->has_filter()) {
        if (!filter.id().empty() && c.id.rfind(filter.id(), 0) != 0) return;
        if (!filter.pod_sandbox_id().empty() && c.sandbox_id.rfind(filter.pod_sandbox_id(), 0) != 0) return;
        if (!labels_match(c.labels, filter.label_selector())) return;
      }
      chosen.push_back(c);
    });
    for (const auto& c : chosen) *response->add_stats() = container_stats_of(c, *ctx_.stats);
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
