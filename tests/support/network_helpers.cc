#include "support/network_helpers.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <signal.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "model/ipv4.h"
#include "reconcile/pod_network.h"
#include "lxd/error.h"
#include "support/test_lxd.h"

namespace lxe::test {

BridgeCleanup::~BridgeCleanup() {
  try {
    make_test_lxd_client().delete_network(name);
  } catch (const lxd::Error& e) {
    if (e.kind() != lxd::ErrorKind::NotFound) WARN("deleting test bridge " << name << ": " << e.what());
  }
}

using namespace std::chrono_literals;

std::string free_test_subnet() {
  std::random_device rd;
  for (int attempt = 0; attempt < 50; ++attempt) {
    const std::string cidr = "10." + std::to_string(200 + rd() % 8) + "." + std::to_string(rd() % 256) + ".0/24";
    if (reconcile::host_overlap(*model::parse_pod_subnet(cidr).subnet, "").empty()) return cidr;
  }
  FAIL("no free /24 in 10.200.0.0/13 on this host");
  return "";
}

int free_host_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string holder_instance(CriFixture& fx, const std::string& pod_id) {
  const std::string tail = pod_id.substr(0, 12);
  for (const auto& name : fx.lxd_instances())
    if (name.size() > tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0) return name;
  FAIL("no LXD instance of pod " << pod_id);
  return "";
}

std::string pod_ip(CriFixture& fx, const std::string& pod_id) {
  const auto status = fx.pod_status(pod_id);
  REQUIRE(status.ok());
  return status.value.status().network().ip();
}

cri::ContainerConfig web_server(const std::string& text) {
  return CriFixture::container_config(
      "web", {"sh", "-c", "mkdir -p /www && echo " + text + " > /www/index.html && exec httpd -f -p 8080 -h /www"});
}

std::string fetch_from_host(const std::string& ip, std::chrono::seconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    httplib::Client client(ip, 8080);
    client.set_connection_timeout(1, 0);
    client.set_read_timeout(2, 0);
    if (auto res = client.Get("/")) return res->body;
    std::this_thread::sleep_for(200ms);
  }
  return "";
}

std::string fetch_local(int port, std::chrono::seconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1, 0);
    client.set_read_timeout(2, 0);
    if (auto res = client.Get("/"); res && res->status == 200) return res->body;
    std::this_thread::sleep_for(200ms);
  }
  return "";
}

namespace {

void delete_link(const std::string& name) {
  const std::string command = "ip link delete " + name + " 2>/dev/null";
  if (std::system(command.c_str()) != 0) WARN("could not delete the test's CNI bridge " << name);
}

}  // namespace

std::string cni_bridge_name() {
  char name[IFNAMSIZ];
  std::snprintf(name, sizeof name, "lxn%x", static_cast<unsigned>(::getpid()));
  return name;
}

void sweep_stale_cni_bridges() {
  for (const auto& entry : std::filesystem::directory_iterator("/sys/class/net")) {
    const std::string name = entry.path().filename();
    if (name.rfind("lxn", 0) != 0 || name.size() < 4) continue;
    unsigned pid = 0;
    if (std::sscanf(name.c_str() + 3, "%x", &pid) != 1 || pid == static_cast<unsigned>(::getpid())) continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) delete_link(name);
  }
}

CniBridgeCleanup::~CniBridgeCleanup() {
  if (std::filesystem::exists("/sys/class/net/" + name)) delete_link(name);
}

std::string cni_test_conflist(const std::string& bridge, const std::string& subnet, const std::string& ipam_dir) {
  return R"({"cniVersion": "1.0.0", "name": "lxe-test", "plugins": [
    {"type": "bridge", "bridge": ")" + bridge + R"(", "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": ")" + subnet + R"("}]],
              "routes": [{"dst": "0.0.0.0/0"}], "dataDir": ")" + ipam_dir + R"("}},
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}]})";
}

}  // namespace lxe::test
