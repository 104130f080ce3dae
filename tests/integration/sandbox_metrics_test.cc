// ListMetricDescriptors and ListPodSandboxMetrics against real pods: every sample has a
// descriptor and as many label values as its descriptor has keys (or kubelet drops it), a busy
// container's CPU counter moves, a created container has zeros, and a bridged pod's interface
// counts the bytes the host sent it.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <thread>

#include "lxd/error.h"
#include "support/cri_fixture.h"
#include "support/network_helpers.h"
#include "support/test_lxd.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;
using namespace std::chrono_literals;

namespace {

std::map<std::string, cri::MetricDescriptor> descriptors(CriFixture& fx) {
  auto ctx = lxe::test::context_with_deadline();
  cri::ListMetricDescriptorsResponse response;
  const auto status = fx.runtime().ListMetricDescriptors(ctx.get(), {}, &response);
  INFO(describe(status));
  REQUIRE(status.ok());
  std::map<std::string, cri::MetricDescriptor> out;
  for (const auto& d : response.descriptors()) out[d.name()] = d;
  return out;
}

std::vector<cri::PodSandboxMetrics> pod_metrics(CriFixture& fx) {
  auto ctx = lxe::test::context_with_deadline();
  cri::ListPodSandboxMetricsResponse response;
  const auto status = fx.runtime().ListPodSandboxMetrics(ctx.get(), {}, &response);
  INFO(describe(status));
  REQUIRE(status.ok());
  return {response.pod_metrics().begin(), response.pod_metrics().end()};
}

const cri::PodSandboxMetrics& of_pod(const std::vector<cri::PodSandboxMetrics>& all, const std::string& id) {
  for (const auto& p : all)
    if (p.pod_sandbox_id() == id) return p;
  FAIL("no metrics for pod " << id);
  throw std::logic_error("unreachable");
}

const cri::ContainerMetrics& of_container(const cri::PodSandboxMetrics& pod, const std::string& id) {
  for (const auto& c : pod.container_metrics())
    if (c.container_id() == id) return c;
  FAIL("no metrics for container " << id);
  throw std::logic_error("unreachable");
}

// The value of the sample of `name` whose label values include all of `with`; nullopt when none.
std::optional<uint64_t> value_of(const google::protobuf::RepeatedPtrField<cri::Metric>& metrics,
                                 const std::string& name, std::vector<std::string> with = {}) {
  for (const auto& m : metrics) {
    if (m.name() != name) continue;
    bool all = true;
    for (const auto& w : with) all = all && std::find(m.label_values().begin(), m.label_values().end(), w) !=
                                               m.label_values().end();
    if (all) return m.value().value();
  }
  return std::nullopt;
}

void check_well_formed(const google::protobuf::RepeatedPtrField<cri::Metric>& metrics,
                       const std::map<std::string, cri::MetricDescriptor>& known, const std::string& id) {
  for (const auto& m : metrics) {
    INFO(m.name());
    const auto d = known.find(m.name());
    REQUIRE(d != known.end());
    CHECK(m.label_values_size() == d->second.label_keys_size());
    CHECK(m.label_values(0) == id);
    CHECK(m.timestamp() > 0);
  }
}

}  // namespace

TEST_CASE("metrics RPCs: cAdvisor names with consistent labels for every pod and container", "[stats][metrics][lxd]") {
  CriFixture fx("metrics");
  const auto known = descriptors(fx);
  for (const char* name : {"container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
                           "container_memory_usage_bytes", "container_memory_rss", "container_threads",
                           "container_network_receive_bytes_total", "container_network_transmit_bytes_total"}) {
    INFO(name);
    REQUIRE(known.count(name) == 1);
    const auto& keys = known.at(name).label_keys();
    REQUIRE(keys.size() >= 3);
    CHECK(keys[0] == "id");
    CHECK(keys[1] == "name");
    CHECK(keys[2] == "image");
    CHECK_FALSE(known.at(name).help().empty());
  }
  CHECK(known.at("container_network_receive_bytes_total").label_keys(3) == "interface");

  auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string busy_id =
      fx.must_run_container(pod_id, CriFixture::container_config("busy", {"sh", "-c", "while :; do :; done"}), pod);
  const std::string idle_id = fx.must_create_container(pod_id, CriFixture::container_config("idle", {"sleep", "1"}), pod);

  const auto first = pod_metrics(fx);
  const auto& p = of_pod(first, pod_id);
  check_well_formed(p.metrics(), known, pod_id);
  REQUIRE(p.container_metrics_size() == 2);
  const auto& busy = of_container(p, busy_id);
  check_well_formed(busy.metrics(), known, busy_id);
  CHECK(value_of(busy.metrics(), "container_memory_working_set_bytes").value_or(0) > 0);
  CHECK(value_of(busy.metrics(), "container_threads").value_or(0) >= 1);
  CHECK(value_of(busy.metrics(), "container_start_time_seconds").value_or(0) > 1'700'000'000);
  CHECK(value_of(busy.metrics(), "container_memory_failures_total", {"pgfault", "container"}).has_value());
  CHECK(value_of(busy.metrics(), "container_memory_failures_total", {"pgmajfault", "container"}).has_value());
  const auto& idle = of_container(p, idle_id);
  check_well_formed(idle.metrics(), known, idle_id);
  CHECK(value_of(idle.metrics(), "container_cpu_usage_seconds_total") == 0u);
  CHECK(value_of(idle.metrics(), "container_memory_working_set_bytes") == 0u);
  CHECK_FALSE(value_of(idle.metrics(), "container_start_time_seconds"));
  // --network-plugin none: the pod has loopback only, which is not reported.
  CHECK_FALSE(value_of(p.metrics(), "container_network_receive_bytes_total"));

  // A shell loop burns CPU time: whole seconds of it show after a few seconds.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  uint64_t cpu = 0;
  while (cpu < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(500ms);
    cpu = value_of(of_container(of_pod(pod_metrics(fx), pod_id), busy_id).metrics(),
                   "container_cpu_usage_seconds_total")
              .value_or(0);
  }
  CHECK(cpu >= 2);
}

TEST_CASE("metrics RPCs: a bridged pod's interface counts what the host sent it", "[stats][metrics][network][lxd]") {
  const std::string bridge = lxe::test::run_prefix() + "mb";
  const std::string subnet = lxe::test::free_test_subnet();
  const lxe::test::BridgeCleanup cleanup{bridge};
  CriFixture fx("metricsnet", {"--network-plugin", "bridge", "--bridge-name", bridge, "--bridge-subnet", subnet,
                               "--bridge-nat=false"});
  auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string ip = lxe::test::pod_ip(fx, pod_id);
  REQUIRE_FALSE(ip.empty());

  auto received = [&] {
    return value_of(of_pod(pod_metrics(fx), pod_id).metrics(), "container_network_receive_bytes_total", {"eth0"});
  };
  const auto before = received();
  REQUIRE(before.has_value());
  // 20 UDP datagrams of 1,000 bytes to a port nobody listens on: they arrive on the pod's eth0
  // all the same.
  {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    REQUIRE(::inet_pton(AF_INET, ip.c_str(), &to.sin_addr) == 1);
    const std::string payload(1000, 'x');
    for (int i = 0; i < 20; ++i)
      ::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    ::close(fd);
  }
  std::optional<uint64_t> after;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    after = received();
  } while (after && *after < *before + 20'000 && std::chrono::steady_clock::now() < deadline &&
           (std::this_thread::sleep_for(100ms), true));
  REQUIRE(after.has_value());
  CHECK(*after >= *before + 20'000);
  const auto all = pod_metrics(fx);
  const auto& p = of_pod(all, pod_id);
  CHECK(value_of(p.metrics(), "container_network_receive_packets_total", {"eth0"}).value_or(0) >= 20);
  CHECK(value_of(p.metrics(), "container_network_receive_errors_total", {"eth0"}).has_value());
  CHECK(value_of(p.metrics(), "container_network_transmit_bytes_total", {"eth0"}).has_value());
}
