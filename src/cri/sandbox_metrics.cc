// ListMetricDescriptors and ListPodSandboxMetrics: the numbers of the stats RPCs under the metric
// names cAdvisor gives them, so that kubelet can serve /metrics/cadvisor from the runtime (its CRI
// metrics source) instead of running cAdvisor over LXD's cgroups.
//
// Every metric carries the label keys id (the container's or pod's CRI ID), name (its LXD
// instance) and image (as CreateContainer named it; "" for a pod), as CRI-O and containerd label
// theirs; kubelet adds namespace, pod and container itself where it does. Network counters are the
// pod's (one namespace for all its containers) and add `interface`. CRI carries whole numbers only:
// container_cpu_usage_seconds_total is whole seconds, as the other runtimes report it.
#include <array>

#include "common/time.h"
#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "reconcile/host_files.h"
#include "reconcile/pinned_namespaces.h"
#include "reconcile/pod_network.h"
#include "stats/stats_sources.h"

namespace lxe::cri {

namespace {

struct MetricSpec {
  const char* name;
  const char* help;
  v1::MetricType type;
  std::vector<std::string> extra_keys;  // after id, name, image
};

const std::array<std::string, 3> kBaseKeys{"id", "name", "image"};

// The metrics lxe serves, in the order ListPodSandboxMetrics emits them.
const std::vector<MetricSpec>& metric_specs() {
  static const std::vector<MetricSpec> specs{
      {"container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", v1::COUNTER, {}},
      {"container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it "
                                       "was accessed.", v1::GAUGE, {}},
      {"container_memory_working_set_bytes", "Current working set in bytes.", v1::GAUGE, {}},
      {"container_memory_rss", "Size of RSS in bytes.", v1::GAUGE, {}},
      {"container_memory_failures_total", "Cumulative count of memory allocation failures.", v1::COUNTER,
       {"failure_type", "scope"}},
      {"container_threads", "Number of threads running inside the container.", v1::GAUGE, {}},
      {"container_start_time_seconds", "Start time of the container since unix epoch in seconds.", v1::GAUGE, {}},
      {"container_fs_usage_bytes", "Number of bytes that are consumed by the container on this filesystem.",
       v1::GAUGE, {"device"}},
      {"container_network_receive_bytes_total", "Cumulative count of bytes received.", v1::COUNTER, {"interface"}},
      {"container_network_receive_packets_total", "Cumulative count of packets received.", v1::COUNTER,
       {"interface"}},
      {"container_network_receive_errors_total", "Cumulative count of errors encountered while receiving.",
       v1::COUNTER, {"interface"}},
      {"container_network_receive_packets_dropped_total", "Cumulative count of packets dropped while receiving.",
       v1::COUNTER, {"interface"}},
      {"container_network_transmit_bytes_total", "Cumulative count of bytes transmitted.", v1::COUNTER,
       {"interface"}},
      {"container_network_transmit_packets_total", "Cumulative count of packets transmitted.", v1::COUNTER,
       {"interface"}},
      {"container_network_transmit_errors_total", "Cumulative count of errors encountered while transmitting.",
       v1::COUNTER, {"interface"}},
      {"container_network_transmit_packets_dropped_total", "Cumulative count of packets dropped while "
                                                           "transmitting.", v1::COUNTER, {"interface"}},
  };
  return specs;
}

const MetricSpec& spec_named(std::string_view name) {
  for (const auto& s : metric_specs())
    if (name == s.name) return s;
  throw std::logic_error("no metric named " + std::string(name));
}

// Appends one sample of `name` (a metric of metric_specs()) with the base label values and `extra`.
class Samples {
 public:
  Samples(google::protobuf::RepeatedPtrField<v1::Metric>& out, std::array<std::string, 3> base, int64_t at)
      : out_(out), base_(std::move(base)), at_(at) {}

  void add(std::string_view name, uint64_t value, std::initializer_list<std::string> extra = {}) {
    const MetricSpec& spec = spec_named(name);
    auto* m = out_.Add();
    m->set_name(spec.name);
    m->set_timestamp(at_);
    m->set_metric_type(spec.type);
    for (const auto& v : base_) m->add_label_values(v);
    for (const auto& v : extra) m->add_label_values(v);
    m->mutable_value()->set_value(value);
  }

 private:
  google::protobuf::RepeatedPtrField<v1::Metric>& out_;
  const std::array<std::string, 3> base_;
  const int64_t at_;
};

void add_cgroup_samples(Samples& samples, const stats::CgroupSample& s) {
  samples.add("container_cpu_usage_seconds_total", s.cpu_usage_ns / 1'000'000'000ULL);
  samples.add("container_memory_usage_bytes", s.memory_usage);
  samples.add("container_memory_working_set_bytes", s.working_set);
  samples.add("container_memory_rss", s.rss);
  // pgfault counts every fault, major ones included, as memory.stat (and cAdvisor) count them.
  samples.add("container_memory_failures_total", s.page_faults, {"pgfault", "container"});
  samples.add("container_memory_failures_total", s.major_page_faults, {"pgmajfault", "container"});
  samples.add("container_threads", s.pids);
}

}  // namespace

::grpc::Status RuntimeService::ListMetricDescriptors(::grpc::ServerContext*, const v1::ListMetricDescriptorsRequest*,
                                                     v1::ListMetricDescriptorsResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    for (const auto& spec : metric_specs()) {
      auto* d = response->add_descriptors();
      d->set_name(spec.name);
      d->set_help(spec.help);
      for (const auto& k : kBaseKeys) d->add_label_keys(k);
      for (const auto& k : spec.extra_keys) d->add_label_keys(k);
    }
    return ::grpc::Status::OK;
  });
}

::grpc::Status RuntimeService::ListPodSandboxMetrics(::grpc::ServerContext*, const v1::ListPodSandboxMetricsRequest*,
                                                     v1::ListPodSandboxMetricsResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    if (!ctx_.stats) return failed_precondition("ListPodSandboxMetrics: this lxe reads no stats");
    // Copied out first: the cgroup and /proc reads happen without the registry's lock.
    const auto sandboxes = ctx_.registry.sandboxes();
    const auto containers = ctx_.registry.containers();
    const int64_t now = now_ns();
    for (const auto& s : sandboxes) {
      if (store::removed_for_cri(s)) continue;
      auto* pod = response->add_pod_metrics();
      pod->set_pod_sandbox_id(s.id);
      Samples pod_samples(*pod->mutable_metrics(), {s.id, s.lxd_name, ""}, now);
      // The pod's network: its namespace's interfaces, read through the holder's PID or the pin.
      // Host network pods have none of their own, and a pod whose namespace is gone has nothing to
      // read.
      const std::string netns = reconcile::pod_netns(s, ctx_.files.pod_namespaces_dir(s.id));
      if (!reconcile::in_host_network(s) && !netns.empty()) {
        for (const auto& i : stats::parse_net_dev(reconcile::read_proc_net(netns, "dev").value_or(""))) {
          if (i.name == "lo") continue;
          pod_samples.add("container_network_receive_bytes_total", i.rx_bytes, {i.name});
          pod_samples.add("container_network_receive_packets_total", i.rx_packets, {i.name});
          pod_samples.add("container_network_receive_errors_total", i.rx_errors, {i.name});
          pod_samples.add("container_network_receive_packets_dropped_total", i.rx_dropped, {i.name});
          pod_samples.add("container_network_transmit_bytes_total", i.tx_bytes, {i.name});
          pod_samples.add("container_network_transmit_packets_total", i.tx_packets, {i.name});
          pod_samples.add("container_network_transmit_errors_total", i.tx_errors, {i.name});
          pod_samples.add("container_network_transmit_packets_dropped_total", i.tx_dropped, {i.name});
        }
      }
      for (const auto& c : containers) {
        if (c.sandbox_id != s.id || store::removed_for_cri(c)) continue;
        auto* container = pod->add_container_metrics();
        container->set_container_id(c.id);
        Samples samples(*container->mutable_metrics(), {c.id, c.lxd_name, c.image}, now);
        // A container that does not run has well-formed zeros, as in its stats.
        add_cgroup_samples(samples, ctx_.stats->cgroups.read(c.lxd_name));
        if (c.started_at > 0) samples.add("container_start_time_seconds", static_cast<uint64_t>(c.started_at / 1'000'000'000));
        // The writable layer's last complete measurement (stats/writable_layer.h); none while unknown.
        if (ctx_.stats->writable_layers)
          if (const auto layer = ctx_.stats->writable_layers->usage(c.id, c.lxd_name))
            samples.add("container_fs_usage_bytes", layer->used_bytes, {layer->mount_point});
      }
    }
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
