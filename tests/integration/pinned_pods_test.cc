// Pods without a holder container on the real LXD: lxe pins the pod's user, network and IPC
// namespaces itself (reconcile/pinned_namespaces.h) and the containers join them by path. Sharing
// between containers, a low port bound by the containers' root, kill -9 of lxe, pins lost behind
// lxe's back (as after a host reboot), the stop and the removal, a container that asks for a PID
// namespace the pod has not got, CNI in the pinned namespace, and --pod-namespaces holder.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/cri_fixture.h"
#include "support/network_helpers.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_lxd.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;
namespace fs = std::filesystem;

namespace {

// What kubelet sends for a pod without shareProcessNamespace: the pod's network and IPC, a PID
// namespace per container.
void kubelet_modes(cri::NamespaceOption* ns) {
  ns->set_network(cri::POD);
  ns->set_pid(cri::CONTAINER);
  ns->set_ipc(cri::POD);
}

cri::PodSandboxConfig kubelet_pod(CriFixture& fx, const std::string& suffix) {
  auto pod = fx.pod_config(suffix);
  kubelet_modes(pod.mutable_linux()->mutable_security_context()->mutable_namespace_options());
  return pod;
}

cri::ContainerConfig kubelet_container(const std::string& name, std::vector<std::string> command) {
  auto config = CriFixture::container_config(name, std::move(command));
  kubelet_modes(config.mutable_linux()->mutable_security_context()->mutable_namespace_options());
  return config;
}

// PodSandboxStatus's verbose info.
nlohmann::json pod_info(CriFixture& fx, const std::string& pod_id) {
  const auto status = fx.pod_status(pod_id, true);
  REQUIRE(status.ok());
  return nlohmann::json::parse(status.value.info().at("info"));
}

// The init PID of a container's LXD instance (named after the first 12 characters of its ID).
int64_t init_pid(CriFixture& fx, const std::string& container_id) {
  return fx.lxd().get_instance_state(lxe::test::holder_instance(fx, container_id)).pid;
}

// What readlink /proc/self/ns/<kind> shows for the namespace pinned at `pin`.
std::string namespace_link(const std::string& pin, const std::string& kind) {
  struct stat st {};
  REQUIRE(::stat(pin.c_str(), &st) == 0);
  return kind + ":[" + std::to_string(st.st_ino) + "]\n";
}

bool mounted(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);)
    if (line.find(" " + path + " ") != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("pinned pods: no holder, the containers share the pinned namespaces, survive kill -9 of lxe, and lost pins "
          "make the pod NotReady",
          "[lxd][pinned][namespaces]") {
  CriFixture fx("pin", {"--network-plugin", "none"});
  auto pod = kubelet_pod(fx, "p");
  pod.set_hostname("pinned-host");
  const std::string pod_id = fx.must_run_pod(pod);
  const auto info = pod_info(fx, pod_id);
  CHECK(info.at("podNamespaces") == "pinned");
  CHECK(info.at("infraPid") == 0);
  // No LXD instance for the pod: only its profile.
  CHECK(fx.lxd_instances().empty());
  CHECK(fx.lxd_profiles().size() == 1);
  const std::string pins = fx.dir().file("namespaces/" + pod_id);
  for (const char* kind : {"user", "net", "ipc"}) CHECK(mounted(pins + "/" + kind));

  // a's root binds port 80 in the pod's network namespace; b reaches it on localhost.
  const std::string a = fx.must_run_container(pod_id, kubelet_container("a", {"sh", "-c", "nc -l -p 80 > /tmp/got; sleep 3600"}), pod);
  const std::string b = fx.must_run_container(pod_id, kubelet_container("b", {"sleep", "3600"}), pod);
  for (const char* kind : {"net", "ipc", "user"}) {
    INFO(kind);
    const std::string ns_a = fx.must_exec(a, {"readlink", std::string("/proc/self/ns/") + kind});
    CHECK(ns_a == fx.must_exec(b, {"readlink", std::string("/proc/self/ns/") + kind}));
    // ...and it is the pinned one.
    CHECK(ns_a == namespace_link(pins + "/" + kind, kind));
  }
  CHECK(fx.must_exec(a, {"readlink", "/proc/self/ns/pid"}) != fx.must_exec(b, {"readlink", "/proc/self/ns/pid"}));
  CHECK(CriFixture::settles([&] { return fx.must_exec(b, {"cat", "/proc/net/tcp", "/proc/net/tcp6"}).find(":0050 ") != std::string::npos; }));
  fx.must_exec(b, {"sh", "-c", "echo hello-pinned | nc 127.0.0.1 80"});
  CHECK(CriFixture::settles([&] { return fx.must_exec(a, {"cat", "/tmp/got"}) == "hello-pinned\n"; }));
  CHECK(fx.must_exec(b, {"hostname"}) == "pinned-host\n");

  // A container of this pod cannot share a PID namespace the pod has not got.
  auto shared_pid = kubelet_container("c", {"sleep", "3600"});
  shared_pid.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(cri::POD);
  const auto refused = fx.create_container(pod_id, shared_pid, pod);
  CHECK(refused.code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(refused.status.error_message(), Catch::Contains("without a PID namespace to share"));

  // kill -9 of lxe: a new lxe adopts the pod and its containers; nothing is restarted or re-pinned.
  const int64_t pid_a = init_pid(fx, a), pid_b = init_pid(fx, b);
  const auto netns = pod_info(fx, pod_id).at("pinnedNetns").get<int64_t>();
  fx.daemon().stop(SIGKILL);
  fx.restart_daemon();
  CHECK(fx.pod_status(pod_id).value.status().state() == cri::SANDBOX_READY);
  CHECK(pod_info(fx, pod_id).at("pinnedNetns").get<int64_t>() == netns);
  CHECK(init_pid(fx, a) == pid_a);
  CHECK(init_pid(fx, b) == pid_b);
  CHECK(fx.container_status(a).value.state() == cri::CONTAINER_RUNNING);

  // The pins gone behind lxe's back (as after a host reboot): the pod is NotReady for good; its
  // running containers are left alone.
  for (const char* kind : {"user", "net", "ipc"}) REQUIRE(::umount2((pins + "/" + kind).c_str(), MNT_DETACH) == 0);
  CHECK(CriFixture::settles([&] { return fx.pod_status(pod_id).value.status().state() == cri::SANDBOX_NOTREADY; }));
  CHECK(init_pid(fx, a) == pid_a);

  REQUIRE(fx.stop_pod(pod_id).ok());
  CHECK_FALSE(mounted(pins + "/net"));
  fx.remove_all_pods_and_expect_clean();
  CHECK(CriFixture::settles([&] { return !fs::exists(pins); }));
}

TEST_CASE("pinned pods: StopPodSandbox unpins, and RemovePodSandbox leaves nothing in LXD or the state folder",
          "[lxd][pinned][namespaces]") {
  CriFixture fx("pinstop", {"--network-plugin", "none"});
  const auto pod = kubelet_pod(fx, "p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string pins = fx.dir().file("namespaces/" + pod_id);
  const std::string a = fx.must_run_container(pod_id, kubelet_container("a", {"sleep", "3600"}), pod);
  REQUIRE(fx.stop_pod(pod_id).ok());
  CHECK(fx.container_status(a).value.state() == cri::CONTAINER_EXITED);
  CHECK(fx.pod_status(pod_id).value.status().state() == cri::SANDBOX_NOTREADY);
  for (const char* kind : {"user", "net", "ipc"}) CHECK_FALSE(mounted(pins + "/" + kind));
  REQUIRE(fx.remove_pod(pod_id).ok());
  CHECK(CriFixture::settles([&] { return fx.lxd_instances().empty() && fx.lxd_profiles().empty() && !fs::exists(pins); }));
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("pinned pods: --pod-namespaces holder, a shared PID namespace and host ports on the bridge keep a holder",
          "[lxd][pinned][namespaces]") {
  SECTION("--pod-namespaces holder") {
    CriFixture fx("pinhold", {"--network-plugin", "none", "--pod-namespaces", "holder"});
    const std::string pod_id = fx.must_run_pod(kubelet_pod(fx, "p"));
    CHECK(pod_info(fx, pod_id).at("podNamespaces") == "holder");
    CHECK(fx.lxd_instances().size() == 1);
    fx.remove_all_pods_and_expect_clean();
  }
  SECTION("a pod whose containers share a PID namespace") {
    CriFixture fx("pinpid", {"--network-plugin", "none"});
    const std::string pod_id = fx.must_run_pod(fx.pod_config("p"));  // CRI's zero values: POD
    CHECK(pod_info(fx, pod_id).at("podNamespaces") == "holder");
    fx.remove_all_pods_and_expect_clean();
  }
  SECTION("host ports on the bridge plugin's network (LXD proxy devices of the holder)") {
    const std::string bridge = lxe::test::run_prefix() + "pb";
    lxe::test::BridgeCleanup cleanup{bridge};
    CriFixture fx("pinbr", {"--network-plugin", "bridge", "--bridge-name", bridge, "--bridge-subnet",
                            lxe::test::free_test_subnet(), "--bridge-nat=false"});
    auto config = kubelet_pod(fx, "p");
    auto* mapping = config.add_port_mappings();
    mapping->set_host_port(lxe::test::free_host_port());
    mapping->set_container_port(8080);
    const std::string pod_id = fx.must_run_pod(config);
    CHECK(pod_info(fx, pod_id).at("podNamespaces") == "holder");
    fx.remove_all_pods_and_expect_clean();
  }
}

TEST_CASE("pinned pods: CNI sets up the pinned network namespace; the address is reachable, stats and DEL work",
          "[lxd][pinned][network][cni]") {
  REQUIRE(fs::exists("/usr/lib/cni/bridge"));
  lxe::test::sweep_stale_cni_bridges();
  const std::string bridge = lxe::test::cni_bridge_name();
  lxe::test::CniBridgeCleanup bridge_cleanup{bridge};
  lxe::test::TempDir conf;
  fs::create_directories(conf.file("net.d"));
  lxe::test::write_file(conf.file("net.d/10-lxe-test.conflist"),
                        lxe::test::cni_test_conflist(bridge, lxe::test::free_test_subnet(), conf.file("ipam")));
  CriFixture fx("pincni", {"--network-plugin", "cni", "--cni-conf-dir", conf.file("net.d"), "--cni-bin-dir",
                           "/usr/lib/cni"});
  const auto pod = kubelet_pod(fx, "p");
  const std::string pod_id = fx.must_run_pod(pod);
  CHECK(pod_info(fx, pod_id).at("podNamespaces") == "pinned");
  CHECK(fx.lxd_instances().empty());
  const std::string ip = lxe::test::pod_ip(fx, pod_id);
  auto web = lxe::test::web_server("from-pinned");
  kubelet_modes(web.mutable_linux()->mutable_security_context()->mutable_namespace_options());
  fx.must_run_container(pod_id, web, pod);
  CHECK(lxe::test::fetch_from_host(ip) == "from-pinned\n");
  // The pod's stats read eth0 in the pinned namespace (the fetch above moved bytes).
  cri::PodSandboxStatsRequest request;
  request.set_pod_sandbox_id(pod_id);
  cri::PodSandboxStatsResponse stats;
  grpc::ClientContext ctx;
  REQUIRE(fx.runtime().PodSandboxStats(&ctx, request, &stats).ok());
  CHECK(stats.stats().linux().network().default_interface().name() == "eth0");
  CHECK(stats.stats().linux().network().default_interface().rx_bytes().value() > 0);
  REQUIRE(fx.stop_pod(pod_id).ok());
  CHECK_FALSE(fx.pod_status(pod_id).value.status().has_network());
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("pinned pods: on lxe's bridge, CNI's bridge plugin plugs the pinned namespace in with lxe's address",
          "[lxd][pinned][network]") {
  REQUIRE(fs::exists("/usr/lib/cni/bridge"));
  const std::string bridge = lxe::test::run_prefix() + "pn";
  lxe::test::BridgeCleanup cleanup{bridge};
  CriFixture fx("pinnet", {"--network-plugin", "bridge", "--bridge-name", bridge, "--bridge-subnet",
                           lxe::test::free_test_subnet(), "--bridge-nat=false"});
  const auto a_pod = kubelet_pod(fx, "a");
  const std::string a = fx.must_run_pod(a_pod);
  const auto b_pod = kubelet_pod(fx, "b");
  const std::string b = fx.must_run_pod(b_pod);
  CHECK(pod_info(fx, a).at("podNamespaces") == "pinned");
  CHECK(fx.lxd_instances().empty());
  const std::string ip_a = lxe::test::pod_ip(fx, a), ip_b = lxe::test::pod_ip(fx, b);
  CHECK(ip_a != ip_b);
  auto web = lxe::test::web_server("from-pinned-bridge");
  kubelet_modes(web.mutable_linux()->mutable_security_context()->mutable_namespace_options());
  fx.must_run_container(a, web, a_pod);
  const std::string client = fx.must_run_container(b, kubelet_container("client", {"sleep", "3600"}), b_pod);
  CHECK(lxe::test::fetch_from_host(ip_a) == "from-pinned-bridge\n");
  const auto from_b = fx.exec(client, {"wget", "-q", "-O", "-", "http://" + ip_a + ":8080/"}, 10);
  REQUIRE(from_b.ok());
  CHECK(from_b.value.stdout() == "from-pinned-bridge\n");

  // kill -9 of lxe: the address is kept and still answers.
  fx.daemon().stop(SIGKILL);
  fx.restart_daemon();
  CHECK(lxe::test::pod_ip(fx, a) == ip_a);
  CHECK(lxe::test::fetch_from_host(ip_a) == "from-pinned-bridge\n");

  // StopPodSandbox takes the pod off the bridge: its address no longer answers.
  REQUIRE(fx.stop_pod(a).ok());
  CHECK_FALSE(fx.pod_status(a).value.status().has_network());
  CHECK(lxe::test::fetch_from_host(ip_a, std::chrono::seconds(2)).empty());
  fx.remove_all_pods_and_expect_clean();
}
