// lxe's command line. Flag names follow the original LXE (Go) daemon where it had them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace lxe::daemon {

struct Options {
  std::string socket;                // CRI socket kubelet connects to
  std::string lxd_socket;            // empty: from --lxd-remote-config, else the first that exists
  std::string lxd_remote_config;     // lxc's config.yml, to find the default remote's socket
  std::string db;                    // the store
  std::string log_level = "info";    // trace, debug, info, warn, error, critical, off
  std::string lxd_name_prefix = "lxe";  // first part of every LXD object name lxe makes
  std::string storage_pool;  // the LXD storage pool of lxe's instances; "": the default profile's
  // Stopped instances kept made per image in use, claimed by CreateContainer instead of a create
  // (reconcile/ready_instances.h); 0: none.
  int ready_instances = 1;
  // Pod networking (reconcile/pod_network.h).
  std::string network_plugin = "bridge";    // bridge, cni or none
  // Who keeps a pod's namespaces: pinned (lxe, by bind mounts, where the pod can do without a
  // holder container) or holder (always a holder container). reconcile/pinned_namespaces.h.
  std::string pod_namespaces = "pinned";
  std::string bridge_name = "lxebr0";       // the LXD bridge lxe makes and owns in bridge mode
  std::string bridge_subnet = "10.233.0.0/16";  // pod addresses; the bridge takes the first
  bool bridge_nat = true;                   // masquerade pod traffic leaving the host
  std::string host_netns = "/proc/1/ns/net";  // the namespace host network pods join
  std::string host_pidns = "/proc/1/ns/pid";  // the namespace host PID pods join
  std::string host_ipcns = "/proc/1/ns/ipc";  // the namespace host IPC pods join
  std::string cni_conf_dir = "/etc/cni/net.d";  // CNI mode: the network configs
  std::string cni_bin_dir = "/opt/cni/bin";     // CNI mode: plugins (":"-separated; /usr/lib/cni is searched too)
  // The streaming server (Exec, Attach, PortForward URLs): loopback by default, as kubelet runs on
  // the same node.
  std::string streaming_bindaddr = "127.0.0.1";
  int streaming_port = 0;  // 0: a free port
  std::string streaming_tls_cert;  // PEM; with the key, the streaming server speaks TLS only
  std::string streaming_tls_key;
  // Image pulls: skopeo's registries.conf ("" = the system's /etc/containers/registries.conf and
  // registries.conf.d), and the longest a pull may take when kubelet sets no deadline.
  // lxe's own /metrics (Prometheus): off unless --metrics-port is given; 0 takes a free port.
  std::string metrics_bindaddr = "127.0.0.1";
  int metrics_port = -1;  // -1: off
  std::string registries_conf;
  int image_pull_timeout_s = 600;
  // Container stats' writable layer (stats/writable_layer.h): how old a measurement of a
  // container's rootfs may get before it is walked again, and the most entries one walk looks at.
  int writable_layer_refresh_s = 60;
  int64_t writable_layer_max_entries = 1'000'000;
  bool help = false;
  bool version = false;
};

struct FlagError {
  std::string message;  // one line, for a person
};

std::variant<Options, FlagError> parse_flags(const std::vector<std::string>& args);

std::string usage();

}  // namespace lxe::daemon
