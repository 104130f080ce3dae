// Pod networking without LXD: addresses and subnets, the IPAM, the holder's NIC, the bridge
// against the in-memory LXD, and RunPodSandbox/PodSandboxStatus/StopPodSandbox with a network.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "cri/validation.h"
#include "daemon/flags.h"
#include "lxd/error.h"
#include "model/ipv4.h"
#include "reconcile/bridge_keeper.h"
#include "reconcile/lxd_specs.h"
#include "reconcile/pod_network.h"
#include "support/memory_fixture.h"
#include "support/memory_lxd.h"
#include "support/network_helpers.h"
#include "support/temp_dir.h"

namespace v1 = runtime::v1;
using lxe::model::Ipv4Subnet;
using lxe::model::parse_ipv4;
using lxe::model::parse_pod_subnet;
using lxe::reconcile::NetworkOptions;
using lxe::reconcile::NetworkPlugin;
using lxe::store::SandboxRecord;
using lxe::store::SandboxState;
using lxe::test::MemoryLxd;
using lxe::test::MemoryRuntime;

namespace {

Ipv4Subnet subnet(const char* text) {
  const auto parsed = parse_pod_subnet(text);
  REQUIRE(parsed.subnet);
  return *parsed.subnet;
}

NetworkOptions bridge(const char* cidr, const char* name = "lxebr9") {
  NetworkOptions o;
  o.plugin = NetworkPlugin::Bridge;
  o.bridge_name = name;
  o.subnet = subnet(cidr);
  return o;
}

SandboxRecord pod(const std::string& id, const std::string& network, const std::string& ip,
                  SandboxState state = SandboxState::Ready) {
  SandboxRecord s;
  s.id = id;
  s.pod_network = network;
  s.pod_ip = ip;
  s.desired_state = state;
  return s;
}

v1::PodSandboxStatusResponse pod_status(MemoryRuntime& rt, const std::string& id) {
  v1::PodSandboxStatusRequest request;
  request.set_pod_sandbox_id(id);
  v1::PodSandboxStatusResponse response;
  REQUIRE(rt.runtime.PodSandboxStatus(nullptr, &request, &response).ok());
  return response;
}

}  // namespace

TEST_CASE("ipv4: addresses and pod subnets parse strictly", "[network]") {
  CHECK(parse_ipv4("10.233.0.1") == 0x0ae90001u);
  CHECK(parse_ipv4("255.255.255.255") == 0xffffffffu);
  for (const char* bad : {"", "10.233.0", "10.233.0.1.2", "10.233.0.256", "10.233.00.1", "a.b.c.d", "10.233.0.1 ",
                          "-1.0.0.0", "1..2.3"})
    CHECK_FALSE(parse_ipv4(bad));
  CHECK(subnet("10.233.0.0/16").to_string() == "10.233.0.0/16");
  CHECK(subnet("10.233.0.0/16").gateway() == 0x0ae90001u);
  CHECK(subnet("10.233.0.0/16").broadcast() == 0x0ae9ffffu);
  CHECK_THAT(parse_pod_subnet("10.233.0.0").error, Catch::Contains("ADDRESS/PREFIX"));
  CHECK_THAT(parse_pod_subnet("10.233.0.1/16").error, Catch::Contains("host bits set; the subnet is 10.233.0.0/16"));
  CHECK_THAT(parse_pod_subnet("10.233.0.0/31").error, Catch::Contains("8 to 30"));
  CHECK_THAT(parse_pod_subnet("10.0.0.0/7").error, Catch::Contains("8 to 30"));
  CHECK_THAT(parse_pod_subnet("x/16").error, Catch::Contains("not an IPv4 address"));
  CHECK(subnet("10.0.0.0/8").overlaps(subnet("10.233.0.0/16")));
  CHECK(subnet("10.233.0.0/16").overlaps(subnet("10.0.0.0/8")));
  CHECK_FALSE(subnet("10.233.0.0/24").overlaps(subnet("10.233.1.0/24")));
  const auto a = lxe::model::parse_pod_address("10.233.0.5/16");
  REQUIRE(a);
  CHECK(a->address == 0x0ae90005u);
  CHECK(a->subnet.to_string() == "10.233.0.0/16");
  CHECK(lxe::model::address_part("10.233.0.5/16") == "10.233.0.5");
  CHECK_FALSE(lxe::model::parse_pod_address("10.233.0.5"));
}

TEST_CASE("IPAM: the lowest free address, never the network, gateway or broadcast; stopped pods release theirs",
          "[network]") {
  const auto o = bridge("10.9.0.0/29");  // hosts .1 (the bridge) to .6
  std::map<std::string, SandboxRecord> pods;
  CHECK(lxe::reconcile::allocate_pod_ip(o, pods) == "10.9.0.2/29");
  pods["a"] = pod("a", "bridge:lxebr9", "10.9.0.2/29");
  pods["b"] = pod("b", "bridge:lxebr9", "10.9.0.4/29");
  CHECK(lxe::reconcile::allocate_pod_ip(o, pods) == "10.9.0.3/29");
  pods["c"] = pod("c", "bridge:lxebr9", "10.9.0.3/29");
  CHECK(lxe::reconcile::allocate_pod_ip(o, pods) == "10.9.0.5/29");
  // Another bridge's, and unnetworked pods', addresses are not this bridge's.
  pods["x"] = pod("x", "bridge:other", "10.9.0.5/29");
  pods["y"] = pod("y", "", "");
  CHECK(lxe::reconcile::allocate_pod_ip(o, pods) == "10.9.0.5/29");
  pods["d"] = pod("d", "bridge:lxebr9", "10.9.0.5/29");
  pods["e"] = pod("e", "bridge:lxebr9", "10.9.0.6/29");
  CHECK_FALSE(lxe::reconcile::allocate_pod_ip(o, pods));  // .7 is the broadcast address
  // Stopping (or removing) a pod frees its address.
  pods["b"].desired_state = SandboxState::NotReady;
  CHECK(lxe::reconcile::allocate_pod_ip(o, pods) == "10.9.0.4/29");
  pods["b"].desired_state = SandboxState::Removed;
  CHECK(lxe::reconcile::allocate_pod_ip(o, pods) == "10.9.0.4/29");
}

TEST_CASE("the holder of a pod with an address gets a NIC on the bridge and LXC sets its address and route",
          "[network]") {
  auto s = pod(std::string(64, 'a'), "bridge:lxebr9", "10.9.0.2/24");
  s.lxd_name = "lxe-web-aaaaaaaaaaaa";
  s.name = "web";
  const auto nic = lxe::reconcile::pod_nic(s);
  REQUIRE(nic);
  CHECK(*nic == std::map<std::string, std::string>{{"type", "nic"}, {"network", "lxebr9"}, {"name", "eth0"}});
  CHECK(lxe::reconcile::pod_nic_raw_lxc(s) ==
        "lxc.net.0.ipv4.address = 10.9.0.2/24 10.9.0.255\nlxc.net.0.ipv4.gateway = 10.9.0.1\n");
  // Pods without a network (all pods made before networking) get exactly what they had.
  const auto plain = pod(s.id, "", "");
  CHECK_FALSE(lxe::reconcile::pod_nic(plain));
  CHECK(lxe::reconcile::pod_nic_raw_lxc(plain).empty());
  // A stored address that does not parse never reaches raw.lxc.
  auto broken = s;
  broken.pod_ip = "10.9.0.2/24\nlxc.mount.entry = /etc x none bind 0 0";
  CHECK_THROWS_WITH(lxe::reconcile::pod_nic_raw_lxc(broken), Catch::Contains("malformed"));
}

TEST_CASE("host_overlap names a host interface in the subnet", "[network]") {
  CHECK_THAT(lxe::reconcile::host_overlap(subnet("127.0.0.0/8"), ""), Catch::StartsWith("lo has 127.0.0.1/8"));
  CHECK(lxe::reconcile::host_overlap(subnet("127.0.0.0/8"), "lo").empty());
}

TEST_CASE("the bridge: made once with the subnet's gateway, no DHCP, no IPv6; another network of its name is refused",
          "[network]") {
  MemoryLxd lxd;
  auto o = bridge("10.9.0.0/24");
  o.nat = true;
  const lxe::reconcile::Bridge b(o, lxd, {{"user.mark", "1"}});
  CHECK(b.problem() == "LXD bridge lxebr9 does not exist");
  b.ensure();
  const auto made = lxd.get_network("lxebr9");
  CHECK(made.config.at("ipv4.address") == "10.9.0.1/24");
  CHECK(made.config.at("ipv4.nat") == "true");
  CHECK(made.config.at("ipv4.dhcp") == "false");
  CHECK(made.config.at("ipv6.address") == "none");
  CHECK(made.config.at("user.lxe.managed") == "true");
  CHECK(made.config.at("user.mark") == "1");
  CHECK(b.problem().empty());
  b.ensure();  // idempotent
  CHECK(lxd.count(MemoryLxd::Op::CreateNetwork) == 1);

  // The same name with another subnet: the flags are wrong, and lxe changes nothing.
  const lxe::reconcile::Bridge other(bridge("10.8.0.0/24"), lxd);
  CHECK_THROWS_AS(other.ensure(), lxe::reconcile::BridgeMismatch);
  CHECK_THAT(other.problem(), Catch::Contains("has ipv4.address '10.9.0.1/24', but --bridge-subnet 10.8.0.0/24 needs "
                                              "10.8.0.1/24"));
  CHECK(lxd.get_network("lxebr9").config.at("ipv4.address") == "10.9.0.1/24");

  // LXD not answering is LXD's error, for the keeper to retry.
  lxd.delete_network("lxebr9");
  lxd.fail_next(MemoryLxd::Op::GetNetwork, {lxe::lxd::ErrorKind::Transport});
  CHECK_THROWS_AS(b.ensure(), lxe::lxd::Error);
}

TEST_CASE("the bridge keeper makes a deleted bridge again and tells Status why it is not ready meanwhile",
          "[network]") {
  MemoryLxd lxd;
  const auto o = bridge("10.9.0.0/24");
  const lxe::reconcile::Bridge b(o, lxd);
  lxe::reconcile::BridgeKeeper keeper(b, std::chrono::hours(1));
  CHECK_FALSE(keeper.problem().empty());  // not checked yet
  CHECK(keeper.check().problem.empty());
  CHECK(keeper.problem().empty());
  lxd.delete_network("lxebr9");
  lxd.fail_next(MemoryLxd::Op::CreateNetwork, {lxe::lxd::ErrorKind::Server});
  const auto failed = keeper.check();
  CHECK_FALSE(failed.problem.empty());
  CHECK_FALSE(failed.mismatch);
  CHECK(keeper.problem() == failed.problem);
  CHECK(keeper.check().problem.empty());  // the fault was one call
  CHECK(lxd.get_network("lxebr9").config.at("ipv4.address") == "10.9.0.1/24");
}

TEST_CASE("flags: the network plugin and the bridge's name and subnet are checked", "[network][flags]") {
  using lxe::daemon::FlagError;
  using lxe::daemon::Options;
  auto error = [](std::vector<std::string> args) {
    const auto parsed = lxe::daemon::parse_flags(args);
    return std::holds_alternative<FlagError>(parsed) ? std::get<FlagError>(parsed).message : std::string();
  };
  const auto defaults = std::get<Options>(lxe::daemon::parse_flags({}));
  CHECK(defaults.network_plugin == "bridge");
  CHECK(defaults.bridge_name == "lxebr0");
  CHECK(defaults.bridge_subnet == "10.233.0.0/16");
  CHECK(defaults.bridge_nat);
  CHECK(defaults.host_netns == "/proc/1/ns/net");
  CHECK(std::get<Options>(lxe::daemon::parse_flags({"--host-netns", "/run/netns/host"})).host_netns ==
        "/run/netns/host");
  CHECK_THAT(error({"--host-netns", "proc/1/ns/net"}), Catch::Contains("not an absolute path"));
  CHECK_THAT(error({"--host-netns", "/proc/1/ns/net\nlxc.apparmor.profile = unconfined"}),
             Catch::Contains("whitespace or a control character"));
  CHECK_THAT(error({"--host-netns", "/run/my netns"}), Catch::Contains("whitespace or a control character"));
  const auto set = std::get<Options>(lxe::daemon::parse_flags(
      {"--network-plugin", "none", "--bridge-name", "br-x_1", "--bridge-subnet", "10.9.0.0/24", "--bridge-nat=false"}));
  CHECK(set.network_plugin == "none");
  CHECK(set.bridge_name == "br-x_1");
  CHECK(set.bridge_subnet == "10.9.0.0/24");
  CHECK_FALSE(set.bridge_nat);
  CHECK_THAT(error({"--network-plugin", "calico"}), Catch::Contains("'calico' is not a network plugin"));
  CHECK_THAT(error({"--bridge-name", "a-name-too-long-x"}), Catch::Contains("1 to 15"));
  CHECK_THAT(error({"--bridge-name", "br0\nx"}), Catch::Contains("not an interface name"));
  CHECK_THAT(error({"--bridge-subnet", "10.9.0.1/24"}), Catch::Contains("host bits set"));
  CHECK_THAT(error({"--bridge-nat", "maybe"}), Catch::Contains("--bridge-nat"));
  // Who keeps pod namespaces.
  CHECK(std::get<Options>(lxe::daemon::parse_flags({})).pod_namespaces == "pinned");
  CHECK(std::get<Options>(lxe::daemon::parse_flags({"--pod-namespaces", "holder"})).pod_namespaces == "holder");
  CHECK_THAT(error({"--pod-namespaces", "pause"}), Catch::Contains("'pause' is not a way lxe keeps pod namespaces"));
  CHECK_THAT(error({"--pod-namespaces", ""}), Catch::Contains("--pod-namespaces"));
}

TEST_CASE("RunPodSandbox with the bridge: distinct addresses, reported by PodSandboxStatus, released by StopPodSandbox",
          "[network][cri]") {
  MemoryRuntime::Options options;
  options.network = bridge("10.9.0.0/29");  // room for 5 pods
  MemoryRuntime rt(options);
  const auto a = rt.run_pod("a");
  const auto b = rt.run_pod("b");
  REQUIRE(a.status.ok());
  REQUIRE(b.status.ok());
  CHECK(pod_status(rt, a.id).status().network().ip() == "10.9.0.2");
  CHECK(pod_status(rt, b.id).status().network().ip() == "10.9.0.3");
  // The holder carries the NIC and the address.
  const auto holder = rt.lxd.instance(rt.registry.sandbox(a.id)->lxd_name);
  REQUIRE(holder);
  CHECK(holder->devices.at("eth0").at("network") == "lxebr9");
  CHECK_THAT(holder->config.at("raw.lxc"), Catch::Contains("lxc.net.0.ipv4.address = 10.9.0.2/29"));

  REQUIRE(rt.stop_pod(a.id).ok());
  CHECK_FALSE(pod_status(rt, a.id).status().has_network());  // released
  const auto c = rt.run_pod("c");
  REQUIRE(c.status.ok());
  CHECK(pod_status(rt, c.id).status().network().ip() == "10.9.0.2");

  // A full subnet: RESOURCE_EXHAUSTED, and nothing recorded.
  for (const char* name : {"d", "e", "f"}) REQUIRE(rt.run_pod(name).status.ok());
  const size_t pods_before = rt.registry.sandboxes().size();
  const auto full = rt.run_pod("g");
  CHECK(full.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK_THAT(full.status.error_message(), Catch::Contains("no free pod address in 10.9.0.0/29"));
  CHECK(rt.registry.sandboxes().size() == pods_before);
}

TEST_CASE("RunPodSandbox without a network plugin: no address, no NIC, no network status", "[network][cri]") {
  MemoryRuntime rt;
  const auto a = rt.run_pod("a");
  REQUIRE(a.status.ok());
  CHECK_FALSE(pod_status(rt, a.id).status().has_network());
  const auto holder = rt.lxd.instance(rt.registry.sandbox(a.id)->lxd_name);
  REQUIRE(holder);
  CHECK(holder->devices.count("eth0") == 0);
  CHECK(rt.registry.sandbox(a.id)->pod_ip.empty());
}

TEST_CASE("port mappings: checked as the facade receives them", "[network][ports]") {
  auto problem = [](std::function<void(v1::PortMapping&)> edit) {
    v1::PodSandboxConfig config;
    auto* p = config.add_port_mappings();
    p->set_host_port(12000);
    p->set_container_port(80);
    edit(*p);
    return lxe::cri::port_mappings_problem(config);
  };
  CHECK(problem([](auto&) {}).empty());
  CHECK(problem([](auto& p) { p.set_host_port(0); p.set_container_port(0); }).empty());  // nothing published
  CHECK_THAT(problem([](auto& p) { p.set_host_port(70000); }), Catch::Contains("port_mappings[0].host_port 70000"));
  CHECK_THAT(problem([](auto& p) { p.set_container_port(0); }), Catch::Contains("container_port 0 is not a port"));
  CHECK_THAT(problem([](auto& p) { p.set_protocol(v1::SCTP); }), Catch::Contains("SCTP host ports are not supported"));
  CHECK_THAT(problem([](auto& p) { p.set_host_ip("127.0.0.1\nlxc.x = y"); }),
             Catch::Contains("port_mappings[0].host_ip contains a line break"));
  // inet_pton stops at a NUL: the bytes after it must not ride along into a proxy device.
  CHECK_THAT(problem([](auto& p) { p.set_host_ip(std::string("127.0.0.1\0\0junk", 15)); }),
             Catch::Contains("host_ip contains a NUL byte"));
  CHECK_THAT(problem([](auto& p) { p.set_host_ip("localhost"); }), Catch::Contains("not an IPv4 or IPv6"));
  CHECK_FALSE(lxe::reconcile::valid_listen_address(std::string("::1\0", 4)));
  CHECK(problem([](auto& p) { p.set_host_ip("::1"); }).empty());
  v1::PodSandboxConfig twice;
  for (int i = 0; i < 2; ++i) {
    auto* p = twice.add_port_mappings();
    p->set_host_port(12000);
    p->set_container_port(80 + i);
  }
  CHECK_THAT(lxe::cri::port_mappings_problem(twice), Catch::Contains("publishes 12000/TCP on 0.0.0.0 a second time"));
  twice.mutable_port_mappings(1)->set_protocol(v1::UDP);
  CHECK(lxe::cri::port_mappings_problem(twice).empty());
}

TEST_CASE("port mappings become LXD proxy devices on the holder, to the pod's address or its loopback",
          "[network][ports]") {
  v1::PodSandboxConfig config;
  auto* tcp = config.add_port_mappings();
  tcp->set_host_port(12000);
  tcp->set_container_port(80);
  auto* none = config.add_port_mappings();
  none->set_container_port(8080);  // no host port: not published
  auto* udp = config.add_port_mappings();
  udp->set_protocol(v1::UDP);
  udp->set_host_port(5353);
  udp->set_container_port(53);
  udp->set_host_ip("::1");
  auto s = pod(std::string(64, 'a'), "bridge:lxebr9", "10.9.0.2/24");
  auto devices = lxe::reconcile::port_proxies(s, config);
  REQUIRE(devices.size() == 2);
  CHECK(devices.at("lxe-port0") == std::map<std::string, std::string>{{"type", "proxy"},
                                                                      {"listen", "tcp:0.0.0.0:12000"},
                                                                      {"connect", "tcp:10.9.0.2:80"},
                                                                      {"bind", "host"}});
  CHECK(devices.at("lxe-port2").at("listen") == "udp:[::1]:5353");
  CHECK(devices.at("lxe-port2").at("connect") == "udp:10.9.0.2:53");
  devices = lxe::reconcile::port_proxies(pod(s.id, "", ""), config);
  CHECK(devices.at("lxe-port0").at("connect") == "tcp:127.0.0.1:80");
}

TEST_CASE("host_port_in_use sees a port something on the host listens on", "[network][ports]") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  const int port = ntohs(a.sin_port);
  CHECK(lxe::reconcile::host_port_in_use(false, "127.0.0.1", port));
  CHECK(lxe::reconcile::host_port_in_use(false, "", port));  // every address includes loopback
  CHECK_FALSE(lxe::reconcile::host_port_in_use(true, "127.0.0.1", port));  // UDP is another port
  ::close(fd);
  CHECK_FALSE(lxe::reconcile::host_port_in_use(false, "127.0.0.1", port));
}

TEST_CASE("RunPodSandbox: a host port another ready pod publishes is refused until that pod stops",
          "[network][ports][cri]") {
  MemoryRuntime rt;
  // A port free now: a fixed one may be some connection's ephemeral port, which lxe rightly refuses.
  const int port = lxe::test::free_host_port();
  const std::string port_text = std::to_string(port);
  auto config = rt.pod_config("a");
  auto* p = config.add_port_mappings();
  p->set_host_port(port);
  p->set_container_port(80);
  auto run = [&](v1::PodSandboxConfig c, const std::string& name) {
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_uid("uid-" + name);
    v1::RunPodSandboxRequest request;
    *request.mutable_config() = c;
    v1::RunPodSandboxResponse response;
    const auto status = rt.runtime.RunPodSandbox(nullptr, &request, &response);
    return std::pair{status, response.pod_sandbox_id()};
  };
  const auto [first, first_id] = run(config, "a");
  REQUIRE(first.ok());
  const auto holder = rt.lxd.instance(rt.registry.sandbox(first_id)->lxd_name);
  REQUIRE(holder);
  CHECK(holder->devices.at("lxe-port0").at("listen") == "tcp:0.0.0.0:" + port_text);
  const size_t pods = rt.registry.sandboxes().size();
  const auto [second, second_id] = run(config, "b");
  CHECK(second.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(second.error_message(), Catch::Contains("host port " + port_text + "/TCP on 0.0.0.0 is published by pod"));
  CHECK(rt.registry.sandboxes().size() == pods);
  REQUIRE(rt.stop_pod(first_id).ok());
  CHECK(run(config, "c").first.ok());
}

namespace {

std::pair<grpc::Status, std::string> run_host_network_pod(MemoryRuntime& rt, const std::string& name) {
  auto config = rt.pod_config(name);
  config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(v1::NODE);
  v1::RunPodSandboxRequest request;
  *request.mutable_config() = config;
  v1::RunPodSandboxResponse response;
  const auto status = rt.runtime.RunPodSandbox(nullptr, &request, &response);
  return {status, response.pod_sandbox_id()};
}

}  // namespace

TEST_CASE("RunPodSandbox of a host network pod: no address, NODE in its status, no NIC, the holder joins --host-netns",
          "[network][host-network][cri]") {
  MemoryRuntime::Options options;
  options.network = bridge("10.9.0.0/29");
  options.network.host_netns = "/proc/self/ns/net";  // this test's own: a network namespace file
  MemoryRuntime rt(options);
  const auto [ok, id] = run_host_network_pod(rt, "host");
  REQUIRE(ok.ok());
  const auto status = pod_status(rt, id).status();
  CHECK(status.linux().namespaces().options().network() == v1::NODE);
  CHECK_FALSE(status.has_network());  // kubelet gives a host network pod the node's addresses
  const auto record = rt.registry.sandbox(id);
  CHECK(record->pod_network == "host");
  CHECK(record->pod_ip.empty());
  const auto holder = rt.lxd.instance(record->lxd_name);
  REQUIRE(holder);
  CHECK(holder->devices.count("eth0") == 0);
  // A pod in its own namespace still gets the first address: the host pod took none.
  const auto own = rt.run_pod("own");
  REQUIRE(own.status.ok());
  CHECK(pod_status(rt, own.id).status().network().ip() == "10.9.0.2");
  CHECK(pod_status(rt, own.id).status().linux().namespaces().options().network() == v1::POD);
}

TEST_CASE("RunPodSandbox of a host network pod: a namespace file lxe cannot join is refused, nothing recorded",
          "[network][host-network][cri]") {
  for (const char* bad : {"/nonexistent/netns", "/proc/self/ns/uts", "/etc/hostname"}) {
    CAPTURE(bad);
    MemoryRuntime::Options options;
    options.network.host_netns = bad;
    MemoryRuntime rt(options);
    const auto [refused, none] = run_host_network_pod(rt, "host");
    CHECK(refused.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK_THAT(refused.error_message(), Catch::Contains("--host-netns") && Catch::Contains(bad));
    CHECK(rt.registry.sandboxes().empty());
    CHECK(rt.lxd.instance_names().empty());
  }
}

TEST_CASE("host_netns_problem: only a network namespace file will do", "[network][host-network]") {
  CHECK(lxe::reconcile::host_netns_problem("/proc/self/ns/net").empty());
  CHECK_THAT(lxe::reconcile::host_netns_problem("/proc/self/ns/ipc"), Catch::Contains("is not a network namespace"));
  CHECK_THAT(lxe::reconcile::host_netns_problem("/etc/hostname"), Catch::Contains("is not a namespace file"));
  CHECK_THAT(lxe::reconcile::host_netns_problem("/no/such/file"), Catch::Contains("cannot open /no/such/file"));
}

TEST_CASE("CNI mode: NetworkReady follows the conf dir without a restart, and no usable config refuses RunPodSandbox",
          "[network][cni][cri]") {
  lxe::test::TempDir conf;
  MemoryRuntime::Options options;
  options.network.plugin = NetworkPlugin::Cni;
  options.network.cni.conf_dir = conf.path();
  options.network.cni.bin_dirs = {"/usr/lib/cni", "/bin"};
  options.network.host_netns = "/proc/self/ns/net";
  MemoryRuntime rt(options);
  auto network_ready = [&] {
    v1::StatusRequest request;
    v1::StatusResponse response;
    REQUIRE(rt.runtime.Status(nullptr, &request, &response).ok());
    for (const auto& c : response.status().conditions())
      if (c.type() == "NetworkReady") return std::pair{c.status(), c.message()};
    FAIL("no NetworkReady condition");
    return std::pair{false, std::string()};
  };
  auto [ready, message] = network_ready();
  CHECK_FALSE(ready);
  CHECK_THAT(message, Catch::Contains("no CNI network config") && Catch::Contains(conf.path()));
  // Metadata that would add a pair to CNI_ARGS: refused before anything else.
  for (const char* hostile : {"web;K8S_POD_UID=other", "a=b"}) {
    CAPTURE(hostile);
    const auto injected = rt.run_pod(hostile);
    CHECK(injected.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(injected.status.error_message(), Catch::Contains("which CNI_ARGS cannot carry"));
  }
  const auto refused = rt.run_pod("a");
  CHECK(refused.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(refused.status.error_message(), Catch::Contains("the CNI network is not ready"));
  CHECK(rt.registry.sandboxes().empty());
  CHECK(rt.lxd.instance_names().empty());

  // A config whose plugin is not there: still not ready, and it says which.
  lxe::test::write_file(conf.file("10-pods.conflist"),
                        R"({"cniVersion": "1.0.0", "name": "pods", "plugins": [{"type": "no-such-plugin"}]})");
  std::tie(ready, message) = network_ready();
  CHECK_FALSE(ready);
  CHECK_THAT(message, Catch::Contains("CNI plugin 'no-such-plugin' is not in"));
  // Fixed (sh stands in for a plugin binary: only its presence counts here): ready.
  lxe::test::write_file(conf.file("10-pods.conflist"),
                        R"({"cniVersion": "1.0.0", "name": "pods", "plugins": [{"type": "sh"}]})");
  std::tie(ready, message) = network_ready();
  CHECK(ready);
  CHECK(message.empty());
  // A host network pod needs no CNI network at all.
  lxe::test::write_file(conf.file("10-pods.conflist"), "{broken");
  CHECK_FALSE(network_ready().first);
  const auto [host, host_id] = run_host_network_pod(rt, "host");
  CHECK(host.ok());
  CHECK(rt.registry.sandbox(host_id)->cni_network.empty());
}

TEST_CASE("a pod without a holder joins lxe's bridge through CNI's bridge plugin with its stored address",
          "[network][pinned]") {
  lxe::reconcile::NetworkOptions options;
  options.plugin = lxe::reconcile::NetworkPlugin::Bridge;
  options.bridge_name = "lxebr7";
  options.subnet = *parse_pod_subnet("10.77.0.0/16").subnet;
  const auto network = lxe::reconcile::bridge_attachment(options, "10.77.0.9/16");
  CHECK(network.cni_version == "1.0.0");
  REQUIRE(network.plugins.size() == 1);
  const auto& plugin = network.plugins[0];
  CHECK(plugin.at("type") == "bridge");
  CHECK(plugin.at("bridge") == "lxebr7");
  // LXD owns the bridge's address and NAT.
  CHECK(plugin.at("isGateway") == false);
  CHECK(plugin.at("ipMasq") == false);
  CHECK(plugin.at("ipam").at("type") == "static");
  CHECK(plugin.at("ipam").at("addresses") ==
        nlohmann::json::parse(R"([{"address":"10.77.0.9/16","gateway":"10.77.0.1"}])"));
  CHECK(plugin.at("ipam").at("routes") == nlohmann::json::parse(R"([{"dst":"0.0.0.0/0","gw":"10.77.0.1"}])"));
  // Stored and read back as any CNI pod's network.
  const auto back = lxe::reconcile::cni::Network::from_json(network.to_json());
  CHECK(back.plugins == network.plugins);
  CHECK(back.name == network.name);

  lxe::reconcile::cni::Options none;
  none.bin_dirs = {"/nonexistent"};
  CHECK_FALSE(lxe::reconcile::can_attach_to_bridge(none));
  lxe::reconcile::cni::Options debian;
  debian.bin_dirs = {"/usr/lib/cni"};
  CHECK(lxe::reconcile::can_attach_to_bridge(debian) ==
        (std::filesystem::exists("/usr/lib/cni/bridge") && std::filesystem::exists("/usr/lib/cni/static")));
}
