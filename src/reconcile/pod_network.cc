#include "reconcile/pod_network.h"

#include <ifaddrs.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fstream>
#include <iterator>
#include <sstream>
#include <memory>
#include <stdexcept>

#include "model/naming.h"
#include "reconcile/lxd_specs.h"
#include "reconcile/pinned_namespaces.h"
#include "reconcile/pod_namespaces.h"

namespace lxe::reconcile {

std::string_view to_string(NetworkPlugin plugin) {
  switch (plugin) {
    case NetworkPlugin::None: return "none";
    case NetworkPlugin::Bridge: return "bridge";
    case NetworkPlugin::Cni: return "cni";
  }
  return "none";
}

std::string NetworkOptions::pod_network() const {
  return plugin == NetworkPlugin::Bridge ? "bridge:" + bridge_name : "";
}

cni::Network bridge_attachment(const NetworkOptions& options, const std::string& pod_ip) {
  const std::string gateway = model::ipv4_to_string(options.subnet.gateway());
  cni::Network network;
  network.name = "lxe-bridge-" + options.bridge_name;
  network.cni_version = "1.0.0";
  network.file = "(lxe's bridge " + options.bridge_name + ")";
  // LXD owns the bridge and its address: the plugin only plugs the veth in (isGateway false, no
  // masquerade of its own: LXD's ipv4.nat does that when --bridge-nat is on).
  network.plugins = nlohmann::json::array({{
      {"type", "bridge"},
      {"bridge", options.bridge_name},
      {"isGateway", false},
      {"ipMasq", false},
      {"hairpinMode", true},
      {"ipam",
       {{"type", "static"},
        {"addresses", nlohmann::json::array({{{"address", pod_ip}, {"gateway", gateway}}})},
        {"routes", nlohmann::json::array({{{"dst", "0.0.0.0/0"}, {"gw", gateway}}})}}},
  }});
  return network;
}

bool can_attach_to_bridge(const cni::Options& options) {
  return !cni::find_plugin(options, "bridge").empty() && !cni::find_plugin(options, "static").empty();
}

std::string bridge_of(std::string_view pod_network) {
  constexpr std::string_view kPrefix = "bridge:";
  return pod_network.substr(0, kPrefix.size()) == kPrefix ? std::string(pod_network.substr(kPrefix.size())) : "";
}

bool in_host_network(const store::SandboxRecord& sandbox) { return sandbox.pod_network == kHostNetwork; }

std::string holder_netns(int64_t infra_pid) {
  if (infra_pid <= 0) return "";
  const std::string proc = "/proc/" + std::to_string(infra_pid);
  std::ifstream in(proc + "/cmdline", std::ios::binary);
  const std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (cmdline != std::string(kInitPathInContainer) + std::string("\0pause\0", 7)) return "";
  return proc + "/ns/net";
}

bool has_pod_interface(const store::SandboxRecord& sandbox) {
  return (!bridge_of(sandbox.pod_network).empty() && !sandbox.pod_ip.empty()) ||
         (set_up_by_cni(sandbox) && sandbox.cni_state == "added");
}

std::string pod_netns(const store::SandboxRecord& sandbox, const std::string& namespaces_dir) {
  if (sandbox.pod_namespaces != store::PodNamespaces::Pinned) return holder_netns(sandbox.infra_pid);
  if (sandbox.pinned_netns == 0 || pinned_netns_inode(namespaces_dir) != sandbox.pinned_netns) return "";
  return pinned_namespace_files(namespaces_dir).network;
}

std::optional<PodInterface> look_at_pod_interface(const store::SandboxRecord& sandbox, const std::string& netns) {
  if (netns.empty()) return std::nullopt;
  const auto dev = read_proc_net(netns, "dev");
  if (!dev) return std::nullopt;
  PodInterface seen;
  std::istringstream lines(*dev);
  for (std::string line; std::getline(lines, line);) {
    const size_t start = line.find_first_not_of(' ');
    if (start != std::string::npos && line.compare(start, 5, "eth0:") == 0) seen.present = true;
  }
  const std::string address = model::address_part(sandbox.pod_ip);
  if (address.empty()) return seen;
  const std::string trie = read_proc_net(netns, "fib_trie").value_or("");
  // "|-- 10.233.0.2" followed by a line "/32 host LOCAL": an address of this namespace.
  const std::string entry = "|-- " + address + "\n";
  for (size_t at = trie.find(entry); at != std::string::npos && !seen.has_address; at = trie.find(entry, at + 1)) {
    const size_t start = at + entry.size();
    seen.has_address = trie.substr(start, trie.find('\n', start) - start).find("host LOCAL") != std::string::npos;
  }
  return seen;
}

std::string cni_pod_network(const std::string& network_name) { return "cni:" + network_name; }

bool set_up_by_cni(const store::SandboxRecord& sandbox) { return !sandbox.cni_network.empty(); }

std::string host_netns_problem(const std::string& path) { return namespace_file_problem(path, CLONE_NEWNET); }

std::optional<std::string> allocate_pod_ip(const NetworkOptions& options,
                                           const std::map<std::string, store::SandboxRecord>& pods) {
  const std::string network = options.pod_network();
  std::set<uint32_t> taken;
  for (const auto& [id, pod] : pods) {
    // A stopped pod has released its address (its holder is stopped and never started again).
    if (pod.pod_network != network || pod.desired_state != store::SandboxState::Ready) continue;
    if (const auto address = model::parse_pod_address(pod.pod_ip)) taken.insert(address->address);
  }
  const auto free = model::first_free_address(options.subnet, taken);
  if (!free) return std::nullopt;
  return model::pod_address(*free, options.subnet);
}

std::string host_overlap(const model::Ipv4Subnet& subnet, const std::string& own_bridge) {
  ifaddrs* raw = nullptr;
  if (::getifaddrs(&raw) != 0) return "";
  const std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> list(raw, &::freeifaddrs);
  for (const ifaddrs* a = raw; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET || a->ifa_netmask == nullptr) continue;
    if (own_bridge == a->ifa_name) continue;
    const uint32_t address = ntohl(reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
    const uint32_t mask = ntohl(reinterpret_cast<const sockaddr_in*>(a->ifa_netmask)->sin_addr.s_addr);
    int prefix = 0;
    for (uint32_t m = mask; m & 0x80000000u; m <<= 1) ++prefix;
    const model::Ipv4Subnet theirs{address & mask, prefix};
    // Loopback (127/8) cannot collide with a pod subnet lxe accepts; a /32 still counts.
    if (theirs.overlaps(subnet))
      return std::string(a->ifa_name) + " has " + model::ipv4_to_string(address) + "/" + std::to_string(prefix);
  }
  return "";
}

bool host_port_in_use(bool udp, const std::string& host_ip, int port) {
  const bool v6 = host_ip.find(':') != std::string::npos;
  const int fd = ::socket(v6 ? AF_INET6 : AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc = -1;
  errno = 0;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET6, host_ip.c_str(), &a.sin6_addr) == 1) rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (host_ip.empty() || ::inet_pton(AF_INET, host_ip.c_str(), &a.sin_addr) == 1)
      rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  const bool in_use = rc != 0 && errno == EADDRINUSE;
  ::close(fd);
  return in_use;
}

Bridge::Bridge(const NetworkOptions& options, const lxd::Api& lxd, lxd::Config marks)
    : options_(options), lxd_(lxd), marks_(std::move(marks)) {}

std::string Bridge::mismatch(const lxd::Network& network) const {
  const std::string wanted = model::pod_address(options_.subnet.gateway(), options_.subnet);
  if (!network.managed || network.type != "bridge")
    return "LXD network " + network.name + " exists but is not a managed bridge (type '" + network.type +
           "'); choose another --bridge-name";
  const auto it = network.config.find("ipv4.address");
  const std::string has = it == network.config.end() ? "" : it->second;
  if (has != wanted)
    return "LXD bridge " + network.name + " has ipv4.address '" + has + "', but --bridge-subnet " +
           options_.subnet.to_string() + " needs " + wanted;
  return "";
}

void Bridge::ensure() const {
  try {
    const std::string why = mismatch(lxd_.get_network(options_.bridge_name));
    if (!why.empty()) throw BridgeMismatch(why);
    return;
  } catch (const lxd::Error& e) {
    if (e.kind() != lxd::ErrorKind::NotFound) throw;
  }
  lxd::NetworkSpec spec;
  spec.name = options_.bridge_name;
  spec.description = "lxe pod network";
  spec.config = marks_;
  spec.config[model::kManagedKey] = "true";
  spec.config["ipv4.address"] = model::pod_address(options_.subnet.gateway(), options_.subnet);
  spec.config["ipv4.nat"] = options_.nat ? "true" : "false";
  // lxe configures every pod's address itself: no DHCP server to race with, no IPv6 it does not
  // hand out.
  spec.config["ipv4.dhcp"] = "false";
  spec.config["ipv6.address"] = "none";
  try {
    lxd_.create_network(spec);
  } catch (const lxd::Error& e) {
    // Another lxe (or a retry after a timeout) made it meanwhile: fine if it is the same.
    if (e.kind() != lxd::ErrorKind::Conflict) throw;
    const std::string why = mismatch(lxd_.get_network(options_.bridge_name));
    if (!why.empty()) throw BridgeMismatch(why);
  }
}

std::string Bridge::problem() const {
  try {
    return mismatch(lxd_.get_network(options_.bridge_name));
  } catch (const lxd::Error& e) {
    if (e.kind() != lxd::ErrorKind::NotFound) throw;
    return "LXD bridge " + options_.bridge_name + " does not exist";
  }
}

}  // namespace lxe::reconcile
