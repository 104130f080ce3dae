// Pod networking on the real LXD, bridge plugin: lxe's bridge (a per-run name and subnet), an
// address per pod, a server in one pod reached from the host and from another pod, the same
// address after lxe restarts, addresses released by StopPodSandbox, and the flags lxe refuses.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "lxd/error.h"
#include "model/ipv4.h"
#include "reconcile/pod_network.h"
#include "support/cri_fixture.h"
#include "support/network_helpers.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_lxd.h"

using lxe::test::BridgeCleanup;
using lxe::test::CriFixture;
using lxe::test::describe;
using lxe::test::fetch_from_host;
using lxe::test::fetch_local;
using lxe::test::free_host_port;
using lxe::test::free_test_subnet;
using lxe::test::pod_ip;
using lxe::test::web_server;
namespace cri = ::runtime::v1;
using namespace std::chrono_literals;

TEST_CASE("bridge: pods get distinct addresses, reachable from the host and from each other, kept across an lxe "
          "restart and released by StopPodSandbox",
          "[lxd][network]") {
  const std::string bridge = lxe::test::run_prefix() + "br";
  const std::string subnet = free_test_subnet();
  BridgeCleanup cleanup{bridge};
  CriFixture fx("netbr", {"--network-plugin", "bridge", "--bridge-name", bridge, "--bridge-subnet", subnet,
                          "--bridge-nat=false"});
  const auto net = *lxe::model::parse_pod_subnet(subnet).subnet;

  // lxe made the bridge, with the subnet's first address, and says the network is ready.
  const auto made = fx.lxd().get_network(bridge);
  CHECK(made.managed);
  CHECK(made.config.at("ipv4.address") == lxe::model::pod_address(net.gateway(), net));
  {
    grpc::ClientContext ctx;
    cri::StatusRequest request;
    cri::StatusResponse response;
    REQUIRE(fx.runtime().Status(&ctx, request, &response).ok());
    bool network_ready = false;
    for (const auto& c : response.status().conditions())
      if (c.type() == "NetworkReady") network_ready = c.status();
    CHECK(network_ready);
  }

  const auto config_a = fx.pod_config("a");
  const auto config_b = fx.pod_config("b");
  const std::string pod_a = fx.must_run_pod(config_a);
  const std::string pod_b = fx.must_run_pod(config_b);
  const std::string ip_a = pod_ip(fx, pod_a);
  const std::string ip_b = pod_ip(fx, pod_b);
  INFO("pod a " << ip_a << ", pod b " << ip_b << ", subnet " << subnet);
  CHECK(ip_a != ip_b);
  for (const auto& ip : {ip_a, ip_b}) {
    const auto address = lxe::model::parse_ipv4(ip);
    REQUIRE(address);
    CHECK(net.contains(*address));
  }

  const std::string web_a = fx.must_run_container(pod_a, web_server("hello-from-a"), config_a);
  const std::string client_b =
      fx.must_run_container(pod_b, CriFixture::container_config("client", {"sleep", "3600"}), config_b);
  // The pod's containers share the holder's interface: the address is theirs too.
  const auto addr = fx.exec(client_b, {"ip", "-4", "addr", "show", "eth0"});
  REQUIRE(addr.ok());
  CHECK_THAT(addr.value.stdout(), Catch::Contains("inet " + ip_b + "/24"));
  const auto route = fx.exec(client_b, {"ip", "route"});
  REQUIRE(route.ok());
  CHECK_THAT(route.value.stdout(), Catch::Contains("default via " + lxe::model::ipv4_to_string(net.gateway())));

  CHECK(fetch_from_host(ip_a) == "hello-from-a\n");
  // (busybox-static's wget crashes with -T: the exec's own timeout bounds it instead.)
  const auto from_b = fx.exec(client_b, {"wget", "-q", "-O", "-", "http://" + ip_a + ":8080/"}, 10);
  REQUIRE(from_b.ok());
  CHECK(from_b.value.exit_code() == 0);
  CHECK(from_b.value.stdout() == "hello-from-a\n");

  // lxe restarts: same addresses, the server never stopped.
  const auto before = fx.container_status(web_a);
  REQUIRE(before.ok());
  CHECK(fx.restart_daemon() == 0);
  CHECK(pod_ip(fx, pod_a) == ip_a);
  CHECK(pod_ip(fx, pod_b) == ip_b);
  const auto after = fx.container_status(web_a);
  REQUIRE(after.ok());
  CHECK(after.value.state() == cri::CONTAINER_RUNNING);
  CHECK(after.value.started_at() == before.value.started_at());
  CHECK(fetch_from_host(ip_a) == "hello-from-a\n");

  // StopPodSandbox releases the address: the next pod gets it.
  REQUIRE(fx.stop_pod(pod_a).ok());
  CHECK_FALSE(fx.pod_status(pod_a).value.status().has_network());
  const std::string pod_c = fx.must_run_pod(fx.pod_config("c"));
  CHECK(pod_ip(fx, pod_c) == ip_a);

  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("bridge: lxe refuses a subnet of the host's and a network of the bridge's name that is not its bridge",
          "[lxd][network]") {
  const auto lxd = lxe::test::make_test_lxd_client();
  {
    lxe::test::TempDir dir;
    CHECK_THROWS_WITH(lxe::test::DaemonProcess(dir, {"--lxd-socket", lxe::test::lxd_socket_path(), "--network-plugin",
                                                     "bridge", "--bridge-name", lxe::test::run_prefix() + "bx",
                                                     "--bridge-subnet", "127.0.0.0/8"}),
                      Catch::Contains("overlaps a network of this host (lo has 127.0.0.1/8)"));
    // Nothing was made.
    CHECK_THROWS_AS(lxd.get_network(lxe::test::run_prefix() + "bx"), lxe::lxd::Error);
  }
  // Someone's bridge under that name, with another subnet: lxe says so and stops; the bridge stays.
  const std::string name = lxe::test::run_prefix() + "by";
  const std::string theirs = free_test_subnet();
  const auto their_net = *lxe::model::parse_pod_subnet(theirs).subnet;
  BridgeCleanup cleanup{name};
  lxe::lxd::NetworkSpec spec;
  spec.name = name;
  spec.config = {{"ipv4.address", lxe::model::pod_address(their_net.gateway(), their_net)},
                 {"ipv4.nat", "false"},
                 {"ipv6.address", "none"}};
  lxe::test::mark(spec.config);
  lxd.create_network(spec);
  const std::string ours = free_test_subnet();
  lxe::test::TempDir dir;
  CHECK_THROWS_WITH(lxe::test::DaemonProcess(dir, {"--lxd-socket", lxe::test::lxd_socket_path(), "--network-plugin",
                                                   "bridge", "--bridge-name", name, "--bridge-subnet", ours}),
                    Catch::Contains("pod network: LXD bridge " + name + " has ipv4.address"));
  CHECK(lxd.get_network(name).config.at("ipv4.address") == spec.config.at("ipv4.address"));
}


TEST_CASE("host ports: hostPort -> containerPort answers on the host, a taken port is refused, StopPodSandbox frees it",
          "[lxd][network][ports]") {
  const std::string bridge = lxe::test::run_prefix() + "bp";
  const std::string subnet = free_test_subnet();
  BridgeCleanup cleanup{bridge};
  CriFixture fx("netport", {"--network-plugin", "bridge", "--bridge-name", bridge, "--bridge-subnet", subnet,
                            "--bridge-nat=false"});
  const int port = free_host_port();
  auto config = fx.pod_config("web");
  auto* mapping = config.add_port_mappings();
  mapping->set_host_port(port);
  mapping->set_container_port(80);
  const std::string pod = fx.must_run_pod(config);
  fx.must_run_container(
      pod,
      CriFixture::container_config("web", {"sh", "-c", "mkdir -p /www && echo published > /www/index.html && exec "
                                                       "httpd -f -p 80 -h /www"}),
      config);
  CHECK(fetch_local(port) == "published\n");

  // The same host port for another pod: refused before anything is made.
  auto other = fx.pod_config("other");
  *other.add_port_mappings() = *mapping;
  const auto refused = fx.run_pod(other);
  CHECK(refused.code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(refused.status.error_message(), Catch::Contains("is published by pod"));
  // Something else on the host holding a port: refused too, naming it.
  const int busy = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(busy, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(busy, 1) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(busy, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  auto taken = fx.pod_config("taken");
  auto* t = taken.add_port_mappings();
  t->set_host_port(ntohs(a.sin_port));
  t->set_container_port(80);
  t->set_host_ip("127.0.0.1");
  const auto in_use = fx.run_pod(taken);
  ::close(busy);
  CHECK(in_use.code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(in_use.status.error_message(), Catch::Contains("is already in use on this host"));

  REQUIRE(fx.stop_pod(pod).ok());
  // LXD's proxy process ends with the holder, a moment after the stop.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (lxe::reconcile::host_port_in_use(false, "", port) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(lxe::reconcile::host_port_in_use(false, "", port));
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("host network: the pod's containers see the host's interfaces and sockets, and serve on the host",
          "[lxd][network][host-network]") {
  // The test process is in the host's network namespace; /proc/1 may not be open to it (as on
  // machines whose PID 1 is a sandbox's own process), so lxe joins this process's namespace.
  CriFixture fx("nethost", {"--network-plugin", "none", "--host-netns",
                            "/proc/" + std::to_string(::getpid()) + "/ns/net"});
  // Something of the host's: a listening socket and an interface other than lo.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  const int host_listening = ntohs(a.sin_port);
  // The interface of the host's default route: one that other tests running meanwhile do not
  // make and delete (their bridges and veths come and go).
  std::string host_interface;
  {
    std::ifstream routes("/proc/net/route");
    std::string line;
    std::getline(routes, line);  // the header
    while (std::getline(routes, line) && host_interface.empty()) {
      std::istringstream fields(line);
      std::string name, destination;
      fields >> name >> destination;
      if (destination == "00000000") host_interface = name;
    }
  }
  REQUIRE_FALSE(host_interface.empty());

  auto config = fx.pod_config("web");
  config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(cri::NODE);
  const std::string pod = fx.must_run_pod(config);
  const auto status = fx.pod_status(pod);
  REQUIRE(status.ok());
  CHECK(status.value.status().linux().namespaces().options().network() == cri::NODE);
  CHECK_FALSE(status.value.status().has_network());

  // An unprivileged container may not bind ports below 1024 in the host's namespace: a high one.
  const int port = free_host_port();
  const std::string container = fx.must_run_container(
      pod,
      CriFixture::container_config("web", {"sh", "-c", "mkdir -p /www && echo on-the-host > /www/index.html && exec "
                                                       "httpd -f -p " + std::to_string(port) + " -h /www"}),
      config);
  CHECK(fetch_local(port) == "on-the-host\n");
  const auto sockets = fx.exec(container, {"netstat", "-ltn"});
  REQUIRE(sockets.ok());
  CHECK_THAT(sockets.value.stdout(), Catch::Contains("127.0.0.1:" + std::to_string(host_listening)));
  const auto interfaces = fx.exec(container, {"ls", "/sys/class/net"});
  REQUIRE(interfaces.ok());
  CHECK_THAT(interfaces.value.stdout(), Catch::Contains(host_interface));
  ::close(listener);

  // A second container of the pod is in the same (host) namespace.
  const std::string second = fx.must_run_container(pod, CriFixture::container_config("side", {"sleep", "3600"}), config);
  const auto seen = fx.exec(second, {"netstat", "-ltn"});
  REQUIRE(seen.ok());
  CHECK_THAT(seen.value.stdout(), Catch::Contains(":" + std::to_string(port)));

  REQUIRE(fx.stop_pod(pod).ok());
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("bridge: a pod NIC removed outside lxe comes back with the same address, without a restart",
          "[lxd][network][drift]") {
  const std::string bridge = lxe::test::run_prefix() + "bd";
  const std::string subnet = free_test_subnet();
  BridgeCleanup cleanup{bridge};
  CriFixture fx("netdrift", {"--network-plugin", "bridge", "--bridge-name", bridge, "--bridge-subnet", subnet,
                             "--bridge-nat=false"});
  const int port = free_host_port();
  auto config = fx.pod_config("web");
  auto* mapping = config.add_port_mappings();
  mapping->set_host_port(port);
  mapping->set_container_port(8080);
  const std::string pod = fx.must_run_pod(config);
  const std::string ip = pod_ip(fx, pod);
  fx.must_run_container(pod, web_server("still-here"), config);
  REQUIRE(fetch_from_host(ip) == "still-here\n");
  const std::string holder = lxe::test::holder_instance(fx, pod);
  const int64_t holder_pid = fx.lxd().get_instance_state(holder).pid;

  // `lxc config device remove` of the pod's NIC, then of its host-port proxy: the interface
  // leaves the pod's namespace, and the port stops answering.
  const auto removed = lxe::test::lxc_command({"config", "device", "remove", holder, "eth0", "lxe-port0"});
  INFO("lxc: " << removed.out << removed.err);
  REQUIRE(removed.exit_code == 0);
  // lxe puts both back (LXD's update event, or the next resync) and sets the stored address again.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
  auto both_back = [&] {
    const auto devices = fx.lxd().get_instance(holder).devices;
    return devices.count("eth0") == 1 && devices.count("lxe-port0") == 1;
  };
  while (!both_back() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(both_back());
  CHECK(fetch_from_host(ip, std::chrono::seconds(20)) == "still-here\n");
  CHECK(fetch_local(port, std::chrono::seconds(20)) == "still-here\n");
  CHECK(pod_ip(fx, pod) == ip);
  CHECK(fx.pod_status(pod).value.status().state() == cri::SANDBOX_READY);
  CHECK(fx.lxd().get_instance_state(holder).pid == holder_pid);  // hot-plugged, not restarted
  fx.remove_all_pods_and_expect_clean();
}
