// How pods are networked (--network-plugin): the settings, the LXD bridge lxe owns in bridge mode,
// a pod's NIC on its namespace holder, and whether the network is ready (CRI Status).
//
// Bridge mode: lxe makes one LXD managed bridge (no DHCP, no IPv6, NAT optional) and gives each
// pod an address from its subnet when the pod is recorded (the IPAM is the store: see
// model/ipv4.h and migrations/0003). The holder gets a NIC on the bridge whose address and default
// route LXC sets up before the holder's init runs; the pod's containers share that namespace.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <set>
#include <string>
#include <string_view>

#include "lxd/api.h"
#include "model/ipv4.h"
#include "reconcile/cni.h"
#include "store/records.h"

namespace lxe::reconcile {

enum class NetworkPlugin {
  None,    // pods get loopback only
  Bridge,  // lxe's own LXD bridge and IPAM
  Cni,     // CNI plugins set up each pod's namespace (cni.h)
};

std::string_view to_string(NetworkPlugin plugin);

struct NetworkOptions {
  NetworkPlugin plugin = NetworkPlugin::None;
  std::string bridge_name = "lxebr0";
  model::Ipv4Subnet subnet{0x0ae90000, 16};  // 10.233.0.0/16
  bool nat = false;  // masquerade pod traffic leaving the host (LXD's ipv4.nat)
  // The namespace file host network pods join (--host-netns): the host's own network namespace.
  std::string host_netns = "/proc/1/ns/net";
  cni::Options cni;  // CNI mode: the conf dir and the plugins' dirs

  // What a pod recorded now stores as its pod_network ("" without a network; CNI pods take the
  // name of the network loaded when they are recorded: cni_pod_network).
  std::string pod_network() const;
};

// A pod without a holder on lxe's bridge (pinned_namespaces.h) is plugged in by CNI, as a CNI
// pod is: Debian's `bridge` plugin puts a veth pair between the pod's pinned network namespace
// and the LXD bridge, and the `static` IPAM plugin gives eth0 the address lxe allocated
// (`pod_ip`, "10.233.0.5/16") and a default route via the bridge's address. Stored as the pod's
// cni_network, so ADD, DEL and the record's CNI state work as for any CNI pod.
cni::Network bridge_attachment(const NetworkOptions& options, const std::string& pod_ip);
// Whether the plugins bridge_attachment names are in the CNI bin dirs (else such a pod keeps a
// holder, whose NIC LXD plugs).
bool can_attach_to_bridge(const cni::Options& options);

// "bridge:<name>" → "<name>"; "" for anything else.
std::string bridge_of(std::string_view pod_network);
// "cni:<network name>" for a pod set up by CNI; whether a pod was.
std::string cni_pod_network(const std::string& network_name);
bool set_up_by_cni(const store::SandboxRecord& sandbox);

// pod_network of a pod in the host's network namespace (NamespaceMode NODE): no address of its
// own, no NIC, no host-port proxies; its holder joins the namespace at --host-netns.
inline constexpr std::string_view kHostNetwork = "host";
bool in_host_network(const store::SandboxRecord& sandbox);

// The network namespace file of a pod's namespace holder while that process runs
// ("/proc/<pid>/ns/net"); "" once it is gone (the PID may be another process's by then: a
// holder's command line is lxe-init's "pause").
std::string holder_netns(int64_t infra_pid);

// The pod's network namespace file while it exists: its holder's (holder_netns) or, for a pod
// whose namespaces lxe pinned, the pin under `namespaces_dir` while it holds the recorded
// namespace; "" once it is gone.
std::string pod_netns(const store::SandboxRecord& sandbox, const std::string& namespaces_dir);

// Whether the pod has an interface of its own to look after: an address on lxe's bridge, or a
// finished CNI ADD.
bool has_pod_interface(const store::SandboxRecord& sandbox);

// What the pod's network namespace (`netns`, from pod_netns) shows of the pod's interface: eth0 in
// its /proc/net/dev, and the pod's stored address among the namespace's local ones
// (/proc/net/fib_trie). nullopt when the namespace is gone. Two small reads of /proc, no LXD call.
struct PodInterface {
  bool present = false;
  bool has_address = false;
};
std::optional<PodInterface> look_at_pod_interface(const store::SandboxRecord& sandbox, const std::string& netns);

// Why host network pods cannot join `path`: it does not open, or it is not a network namespace
// file. "" when it can be joined.
std::string host_netns_problem(const std::string& path);

// The address for a new pod: the lowest one of the subnet that no pod desired ready on the same
// network holds. nullopt when the subnet is full.
std::optional<std::string> allocate_pod_ip(const NetworkOptions& options,
                                           const std::map<std::string, store::SandboxRecord>& pods);

// A host interface whose IPv4 network overlaps `subnet`, described for a person ("eth0 has
// 10.233.1.4/24"); "" when none does. `own_bridge` (lxe's bridge, which carries the subnet's
// gateway address) is not counted.
std::string host_overlap(const model::Ipv4Subnet& subnet, const std::string& own_bridge);

// Whether something on this host holds `port` for `protocol` on `host_ip` ("" = every address):
// a trial bind, with SO_REUSEADDR as LXD's proxy listens (so a closing connection is no conflict).
// The caller refuses the pod before LXD would fail to start its holder.
bool host_port_in_use(bool udp, const std::string& host_ip, int port);

// LXD has a network of the bridge's name that is not the bridge lxe is configured for: a mistake
// in the flags (or another program's network), never repaired by lxe.
class BridgeMismatch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// LXD's managed bridge for bridge mode.
class Bridge {
 public:
  Bridge(const NetworkOptions& options, const lxd::Api& lxd, lxd::Config marks = {});

  // Makes the bridge unless it exists. An existing network is accepted only when it is a managed
  // bridge with the configured subnet's gateway address; otherwise throws BridgeMismatch saying
  // what differs. lxd::Error when LXD refuses or does not answer.
  void ensure() const;

  // "" when the bridge exists as configured, else why not (for CRI Status's NetworkReady).
  // Throws lxd::Error when LXD does not answer.
  std::string problem() const;

 private:
  std::string mismatch(const lxd::Network& network) const;  // "" when it is lxe's bridge

  NetworkOptions options_;
  const lxd::Api& lxd_;
  lxd::Config marks_;
};

}  // namespace lxe::reconcile
