// What the CRI facade stands on: the layers below it, owned by the daemon.
#pragma once

#include <chrono>
#include <string>

#include "common/crash_points.h"
#include "reconcile/pod_network.h"

namespace lxe::store {
class Registry;
}
namespace lxe::lxd {
class Api;
class HealthMonitor;
}  // namespace lxe::lxd
namespace lxe::reconcile {
class Reconciler;
class HostFiles;
class Volumes;
class BridgeKeeper;
}  // namespace lxe::reconcile

namespace lxe::streaming {
class Server;
}
namespace lxe::images {
class ImageCatalog;
}
namespace lxe::stats {
struct StatsSources;
}

namespace lxe::cri {

struct RuntimeContext {
  store::Registry& registry;
  reconcile::Reconciler& reconciler;
  const reconcile::HostFiles& files;
  const reconcile::Volumes& volumes;  // whether volumes are idmapped (Status)
  const lxd::Api& lxd;
  lxd::HealthMonitor& lxd_health;
  // The images kubelet can name: what lxe pulled, and the operator's LXD images.
  images::ImageCatalog& images;
  // Upper bound for a synchronous call waiting on the reconciler, when the caller set no deadline
  // (kubelet always sets one).
  std::chrono::seconds max_wait{240};
  // First part of every LXD object name lxe makes (--lxd-name-prefix).
  std::string lxd_name_prefix = "lxe";
  // Test hook (LXE_CRASH_AT): "store-written:<Rpc>" fires after an RPC recorded desired state.
  CrashPoints crash_points;
  // How pods are networked (--network-plugin and the bridge's flags).
  reconcile::NetworkOptions network;
  // The host's PID and IPC namespace files host PID and host IPC pods join (--host-pidns,
  // --host-ipcns; the network one is network.host_netns).
  std::string host_pidns = "/proc/1/ns/pid";
  std::string host_ipcns = "/proc/1/ns/ipc";
  // Whether lxe pins the namespaces of pods that can do without a holder container
  // (--pod-namespaces; reconcile::pod_namespace_keeper).
  bool pin_pod_namespaces = true;
  // Keeps LXD's bridge in bridge mode (Status reads its last check for NetworkReady); null otherwise.
  const reconcile::BridgeKeeper* bridge = nullptr;
  // Hands out the URLs of Exec, Attach and PortForward; null where no server runs (some tests).
  streaming::Server* streaming = nullptr;
  // Container stats: the host's cgroups and the writable layers' cache; null where there are none
  // to read (some tests).
  stats::StatsSources* stats = nullptr;
};

}  // namespace lxe::cri
