// CNI mode against the real LXD and Debian's CNI plugins (/usr/lib/cni: bridge, host-local,
// portmap): addresses from the plugins, pod-to-pod and host-to-pod traffic, a host port through
// portmap, no second ADD after kill -9 of lxe, DEL on StopPodSandbox, and a broken conf dir.
#include <catch2/catch.hpp>

#include <net/if.h>
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <chrono>
#include <set>
#include <thread>
#include <filesystem>

#include "model/ipv4.h"
#include "store/store.h"
#include "support/cri_fixture.h"
#include "support/network_helpers.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_lxd.h"

using lxe::test::cni_bridge_name;
using lxe::test::cni_test_conflist;
using lxe::test::CniBridgeCleanup;
using lxe::test::CriFixture;
using lxe::test::sweep_stale_cni_bridges;
using lxe::test::fetch_from_host;
using lxe::test::fetch_local;
using lxe::test::free_host_port;
using lxe::test::free_test_subnet;
using lxe::test::pod_ip;
using lxe::test::web_server;
namespace cri = ::runtime::v1;
namespace fs = std::filesystem;

namespace {

// The addresses host-local holds: one file per address in its data dir.
std::set<std::string> held_addresses(const std::string& ipam_dir) {
  std::set<std::string> held;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(ipam_dir + "/lxe-test", ec)) {
    const std::string name = entry.path().filename();
    if (lxe::model::parse_ipv4(name)) held.insert(name);
  }
  return held;
}

int network_adds(const std::string& db, const std::string& pod_id) {
  lxe::store::Store store(db, lxe::store::Store::Mode::ReadOnly);
  lxe::store::EventQuery query;
  query.object_id = pod_id;
  int adds = 0;
  for (const auto& e : store.list_events(query)) adds += e.action == "network-add" ? 1 : 0;
  return adds;
}

}  // namespace

TEST_CASE("cni: the plugins' addresses, reachable from the host and between pods, a host port through portmap, "
          "no second ADD after kill -9, DEL on stop",
          "[lxd][network][cni]") {
  INFO("Debian's containernetworking-plugins (scripts/setup.sh installs them)");
  REQUIRE(fs::exists("/usr/lib/cni/bridge"));
  sweep_stale_cni_bridges();
  const std::string bridge = cni_bridge_name();
  CniBridgeCleanup bridge_cleanup{bridge};
  lxe::test::TempDir conf;
  const std::string ipam_dir = conf.file("ipam");
  const std::string subnet = free_test_subnet();
  fs::create_directories(conf.file("net.d"));
  lxe::test::write_file(conf.file("net.d/10-lxe-test.conflist"), cni_test_conflist(bridge, subnet, ipam_dir));
  CriFixture fx("cni", {"--network-plugin", "cni", "--cni-conf-dir", conf.file("net.d"), "--cni-bin-dir",
                        "/usr/lib/cni"});
  const auto net = *lxe::model::parse_pod_subnet(subnet).subnet;

  const int host_port = free_host_port();
  auto config_a = fx.pod_config("a");
  auto* mapping = config_a.add_port_mappings();
  mapping->set_host_port(host_port);
  mapping->set_container_port(8080);
  const std::string a = fx.must_run_pod(config_a);
  const auto config_b = fx.pod_config("b");
  const std::string b = fx.must_run_pod(config_b);
  const std::string ip_a = pod_ip(fx, a);
  const std::string ip_b = pod_ip(fx, b);
  CHECK(ip_a != ip_b);
  for (const auto& ip : {ip_a, ip_b}) {
    const auto parsed = lxe::model::parse_ipv4(ip);
    REQUIRE(parsed);
    CHECK(net.contains(*parsed));
  }
  CHECK(held_addresses(ipam_dir) == std::set<std::string>{ip_a, ip_b});
  // No LXD NIC and no proxy device: the plugins own the pod's interface and its ports.
  const auto holder = fx.lxd().get_instance(lxe::test::holder_instance(fx, a));
  CHECK(holder.devices.count("eth0") == 0);
  CHECK(holder.devices.count("lxe-port0") == 0);

  fx.must_run_container(a, web_server("from-cni-a"), config_a);
  const std::string client_b = fx.must_run_container(b, CriFixture::container_config("client", {"sleep", "3600"}),
                                                     config_b);
  CHECK(fetch_from_host(ip_a) == "from-cni-a\n");
  // (busybox-static's wget crashes with -T: the exec's own timeout bounds it instead.)
  const auto from_b = fx.exec(client_b, {"wget", "-q", "-O", "-", "http://" + ip_a + ":8080/"}, 10);
  REQUIRE(from_b.ok());
  CHECK(from_b.value.stdout() == "from-cni-a\n");
  CHECK(fetch_local(host_port) == "from-cni-a\n");

  // kill -9 of lxe, then a new lxe: the pods keep their addresses and the server answers; ADD ran
  // once per pod.
  fx.daemon().stop(SIGKILL);
  fx.restart_daemon();
  CHECK(pod_ip(fx, a) == ip_a);
  CHECK(pod_ip(fx, b) == ip_b);
  CHECK(fetch_from_host(ip_a) == "from-cni-a\n");
  CHECK(fetch_local(host_port) == "from-cni-a\n");
  CHECK(network_adds(fx.dir().file("lxe.db"), a) == 1);
  CHECK(network_adds(fx.dir().file("lxe.db"), b) == 1);

  // Pod b's interface deleted inside its namespace behind lxe's back: b is reported NotReady (ADD
  // is never run twice; kubelet would make a new sandbox), and a keeps running.
  const std::string holder_b = lxe::test::holder_instance(fx, b);
  const auto deleted = lxe::test::run_command(
      {"/usr/bin/nsenter", "--net=/proc/" + std::to_string(fx.lxd().get_instance_state(holder_b).pid) + "/ns/net", "/usr/sbin/ip", "link",
       "delete", "eth0"});
  INFO("nsenter: " << deleted.out << deleted.err);
  REQUIRE(deleted.exit_code == 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (fx.pod_status(b).value.status().state() != cri::SANDBOX_NOTREADY && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(fx.pod_status(b).value.status().state() == cri::SANDBOX_NOTREADY);
  CHECK(network_adds(fx.dir().file("lxe.db"), b) == 1);
  CHECK(fx.pod_status(a).value.status().state() == cri::SANDBOX_READY);

  // StopPodSandbox runs DEL: the address is free again and the host port gone.
  REQUIRE(fx.stop_pod(a).ok());
  CHECK(held_addresses(ipam_dir) == std::set<std::string>{ip_b});
  CHECK_FALSE(fx.pod_status(a).value.status().has_network());
  CHECK(fetch_local(host_port).empty());
  fx.remove_all_pods_and_expect_clean();
  CHECK(held_addresses(ipam_dir).empty());  // RemovePodSandbox without a stop ran DEL for b
}

TEST_CASE("cni: a broken conf dir makes NetworkReady false and refuses pods, until it is fixed", "[lxd][network][cni]") {
  INFO("Debian's containernetworking-plugins (scripts/setup.sh installs them)");
  REQUIRE(fs::exists("/usr/lib/cni/bridge"));
  lxe::test::TempDir conf;
  fs::create_directories(conf.file("net.d"));
  lxe::test::write_file(conf.file("net.d/10-broken.conflist"), R"({"cniVersion": "1.0.0", "name": "x", "plugins":)");
  CriFixture fx("cnibad", {"--network-plugin", "cni", "--cni-conf-dir", conf.file("net.d")});
  auto network_ready = [&] {
    grpc::ClientContext ctx;
    cri::StatusRequest request;
    cri::StatusResponse response;
    REQUIRE(fx.runtime().Status(&ctx, request, &response).ok());
    for (const auto& c : response.status().conditions())
      if (c.type() == "NetworkReady") return std::pair{c.status(), c.message()};
    FAIL("no NetworkReady");
    return std::pair{false, std::string()};
  };
  const auto [ready, message] = network_ready();
  CHECK_FALSE(ready);
  CHECK_THAT(message, Catch::Contains("10-broken.conflist is not a JSON object"));
  const auto refused = fx.run_pod(fx.pod_config("p"));
  CHECK(refused.code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(refused.status.error_message(), Catch::Contains("the CNI network is not ready"));
  CHECK(fx.list_pods().empty());
  fx.expect_lxd_clean();

  // Fixed in place: ready at the next Status, without a restart (loopback only: nothing to clean).
  lxe::test::write_file(conf.file("net.d/10-broken.conflist"),
                        R"({"cniVersion": "1.0.0", "name": "lo", "plugins": [{"type": "loopback"}]})");
  CHECK(network_ready().first);
}
