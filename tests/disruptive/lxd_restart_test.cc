// LXD restarting under a running lxe: lxe keeps serving reads from its store, reports
// RuntimeReady=false with a reason, answers calls that need LXD with UNAVAILABLE in bounded time,
// and recovers by itself when LXD is back; the running container is never restarted.
#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

#include <filesystem>

#include "support/cri_fixture.h"
#include "support/network_helpers.h"
#include "support/temp_dir.h"
#include "support/test_lxd.h"
#include "support/process.h"

namespace v1 = ::runtime::v1;

namespace {

bool runtime_ready(lxe::test::CriFixture& fx) {
  auto ctx = lxe::test::context_with_deadline(std::chrono::seconds(5));
  v1::StatusResponse response;
  if (!fx.runtime().Status(ctx.get(), v1::StatusRequest(), &response).ok()) return false;
  for (const auto& c : response.status().conditions())
    if (c.type() == "RuntimeReady") return c.status();
  return false;
}

template <typename Fn>
bool eventually(Fn&& done, std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return done();
}

// Starts LXD again the way the set-up script does (without systemd here).
void start_lxd() {
  const auto r = lxe::test::run_command({"/bin/bash", LXE_SOURCE_DIR "/scripts/setup.sh", "--no-build"},
                                        std::chrono::seconds(180));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

// A pod with a web server answering `text` on 8080, published on a free host port.
struct WebPod {
  std::string id;
  std::string ip;
  int host_port = 0;
};
WebPod run_web_pod(lxe::test::CriFixture& fx, const std::string& text) {
  WebPod web;
  web.host_port = lxe::test::free_host_port();
  auto config = fx.pod_config("web");
  auto* mapping = config.add_port_mappings();
  mapping->set_host_port(web.host_port);
  mapping->set_container_port(8080);
  web.id = fx.must_run_pod(config);
  fx.must_run_container(web.id, lxe::test::web_server(text), config);
  web.ip = lxe::test::pod_ip(fx, web.id);
  return web;
}

// Stops the LXD daemon with SIGTERM (its instances keep running) and, whatever happens in the test,
// starts it again when it goes out of scope: the rest of the suite needs LXD.
class LxdStopped {
 public:
  explicit LxdStopped(lxe::test::CriFixture& fx) {
    const int64_t lxd_pid = fx.lxd().server_info().raw["environment"].value("server_pid", int64_t{0});
    REQUIRE(lxd_pid > 0);
    REQUIRE(::kill(static_cast<pid_t>(lxd_pid), SIGTERM) == 0);
  }
  ~LxdStopped() {
    lxe::test::run_command({"/bin/bash", LXE_SOURCE_DIR "/scripts/setup.sh", "--no-build"}, std::chrono::seconds(180));
  }
  LxdStopped(const LxdStopped&) = delete;
  LxdStopped& operator=(const LxdStopped&) = delete;
};

}  // namespace

TEST_CASE("LXD restarts under lxe: nothing restarts and lxe recovers by itself", "[lxd][disruptive]") {
  lxe::test::CriFixture fx("lxdrs");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string id = fx.must_run_container(pod_id, fx.container_config("c", {"sleep", "3600"}), pod);
  const auto instances = fx.lxd_instances();
  std::string instance;
  for (const auto& name : instances)
    if (name.find("-c-") != std::string::npos) instance = name;
  REQUIRE_FALSE(instance.empty());
  const int64_t pid = fx.lxd().get_instance_state(instance).pid;
  REQUIRE(pid > 0);
  REQUIRE(runtime_ready(fx));

  // Stop the LXD daemon (SIGTERM leaves instances running; their processes do not depend on it).
  const LxdStopped lxd_stopped(fx);

  // lxe notices, says why, and keeps answering from its store.
  CHECK(eventually([&] { return !runtime_ready(fx); }, std::chrono::seconds(20)));
  CHECK(fx.wait_for_state(id, v1::CONTAINER_RUNNING).state() == v1::CONTAINER_RUNNING);
  CHECK(fx.list_pods().size() == 1);
  // A call that needs LXD fails fast and says LXD is unavailable.
  const auto started = std::chrono::steady_clock::now();
  const auto second = fx.run_pod(fx.pod_config("q"));
  CHECK(second.code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(60));

  start_lxd();
  CHECK(eventually([&] { return runtime_ready(fx); }));
  // Nothing restarted: same init PID, still running, and lxe works again.
  CHECK(fx.lxd().get_instance_state(instance).pid == pid);
  CHECK(fx.wait_for_state(id, v1::CONTAINER_RUNNING).state() == v1::CONTAINER_RUNNING);
  const auto again = fx.run_pod(fx.pod_config("r"));
  CHECK(again.ok());
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("LXD restarts under lxe: pods keep their addresses, servers and host ports (bridge and CNI)",
          "[lxd][disruptive][network]") {
  using lxe::test::CriFixture;
  // Bridge mode, with a host port.
  const std::string bridge = lxe::test::run_prefix() + "rb";
  const lxe::test::BridgeCleanup bridge_cleanup{bridge};
  CriFixture bridged("lxdrsb", {"--network-plugin", "bridge", "--bridge-name", bridge, "--bridge-subnet",
                                lxe::test::free_test_subnet(), "--bridge-nat=false"});
  const WebPod bridged_web = run_web_pod(bridged, "bridged");
  const std::string& bridged_pod = bridged_web.id;
  const std::string& bridged_ip = bridged_web.ip;
  const int bridge_port = bridged_web.host_port;

  // CNI mode, Debian's plugins.
  lxe::test::sweep_stale_cni_bridges();
  const lxe::test::CniBridgeCleanup cni_bridge_cleanup{lxe::test::cni_bridge_name()};
  lxe::test::TempDir conf;
  std::filesystem::create_directories(conf.file("net.d"));
  lxe::test::write_file(conf.file("net.d/10-lxe-test.conflist"),
                        lxe::test::cni_test_conflist(lxe::test::cni_bridge_name(), lxe::test::free_test_subnet(),
                                                     conf.file("ipam")));
  CriFixture cni("lxdrsc", {"--network-plugin", "cni", "--cni-conf-dir", conf.file("net.d")});
  const WebPod cni_web = run_web_pod(cni, "cni");
  const std::string& cni_pod = cni_web.id;
  const std::string& cni_ip = cni_web.ip;
  const int cni_port = cni_web.host_port;
  REQUIRE(lxe::test::fetch_from_host(bridged_ip) == "bridged\n");
  REQUIRE(lxe::test::fetch_from_host(cni_ip) == "cni\n");

  const LxdStopped lxd_stopped(bridged);
  CHECK(eventually([&] { return !runtime_ready(bridged); }, std::chrono::seconds(20)));
  // While LXD is down, the pods' networks do not depend on it.
  CHECK(lxe::test::fetch_from_host(bridged_ip) == "bridged\n");
  CHECK(lxe::test::fetch_from_host(cni_ip) == "cni\n");
  start_lxd();
  CHECK(eventually([&] { return runtime_ready(bridged) && runtime_ready(cni); }));

  CHECK(lxe::test::pod_ip(bridged, bridged_pod) == bridged_ip);
  CHECK(lxe::test::pod_ip(cni, cni_pod) == cni_ip);
  CHECK(lxe::test::fetch_from_host(bridged_ip) == "bridged\n");
  CHECK(lxe::test::fetch_from_host(cni_ip) == "cni\n");
  CHECK(lxe::test::fetch_local(bridge_port) == "bridged\n");
  CHECK(lxe::test::fetch_local(cni_port) == "cni\n");
  CHECK(bridged.pod_status(bridged_pod).value.status().state() == v1::SANDBOX_READY);
  CHECK(cni.pod_status(cni_pod).value.status().state() == v1::SANDBOX_READY);
  cni.remove_all_pods_and_expect_clean();
  bridged.remove_all_pods_and_expect_clean();
}
