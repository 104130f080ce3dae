// A pod's namespaces kept by lxe itself rather than by a holder container: a user namespace with
// the containers' LXD idmap, and the network and IPC namespaces it owns, each kept alive by a bind
// mount of its namespace file under lxe's state folder (as `ip netns add` keeps a network
// namespace). The pod's containers join them by path (lxc.namespace.share.<kind> = <file>).
// Making them costs a clone and three mounts instead of an LXD container's create and start.
//
// Facts that shape this (measured on LXD 5.0.2, Linux 6.x; docs/architecture.md):
// - LXC joins a user namespace by file as it joins one by PID. The container's rootfs is mapped
//   for LXD's idmap, so the pinned user namespace must have exactly that map (else LXC cannot even
//   open the rootfs: "Permission denied").
// - Network and IPC namespaces made inside that user namespace are owned by it: the containers'
//   root can configure the network, bind low ports and set the pod's sysctls, as with a holder.
// - A PID namespace cannot be pinned usefully (it dies with its first process), so a pod that
//   shares one among its containers keeps a holder.
// - The mounts are in the host's mount namespace; LXD (Debian's package) runs in it too and sees
//   them. After a host reboot the pins are gone and the files they were on are plain files again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reconcile/idmap.h"

namespace lxe::reconcile {

// The pin files of a pod's namespaces under `dir`.
struct PinnedNamespaceFiles {
  std::string user;
  std::string network;
  std::string ipc;
};
PinnedNamespaceFiles pinned_namespace_files(const std::string& dir);

// Makes the pod's namespaces and pins them under `dir` (created when missing): a user namespace
// mapped by `ranges`, and a network namespace (loopback up) and an IPC namespace it owns. Pins an
// earlier, unfinished call left in `dir` are replaced. Returns the network namespace's inode
// (pinned_netns). Throws std::runtime_error saying which step failed.
int64_t pin_pod_namespaces(const std::string& dir, const std::vector<IdRange>& ranges);

// The inode of the pinned network namespace when all three pins are there, each a namespace of its
// kind; nullopt when any is missing (never made, unpinned, or lost with a host reboot).
std::optional<int64_t> pinned_netns_inode(const std::string& dir);

// Detaches the pins under `dir` and removes it (missing is fine). The namespaces live on while a
// process is still in them. Throws std::runtime_error when a pin cannot be unmounted.
void unpin_pod_namespaces(const std::string& dir);

// The idmap LXD gives containers that are not isolated (its default): the "root" ranges of
// `subuid` and `subgid` (LXD's own rule), else 1000000:1000000000. Throws std::runtime_error
// when a file exists but cannot be read.
std::vector<IdRange> lxd_default_idmap(const std::string& subuid = "/etc/subuid",
                                       const std::string& subgid = "/etc/subgid");

// Reads /proc/net/<name> (dev, fib_trie...) as seen from the network namespace `netns` (a
// namespace file): directly for /proc/<pid>/ns/net, else from a short-lived thread that enters the
// namespace. nullopt when the namespace or the file cannot be read.
std::optional<std::string> read_proc_net(const std::string& netns, const std::string& name);

}  // namespace lxe::reconcile
