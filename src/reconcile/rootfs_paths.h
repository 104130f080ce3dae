// Where a CRI mount's container path really is inside a container's root filesystem, read from
// the host before the container first starts.
//
// Why: liblxc refuses to mount through a symlink ("... was a symbolic link!"), and most images have
// /var/run -> /run (relative or absolute), where kubelet mounts service-account tokens
// (/var/run/secrets/kubernetes.io/serviceaccount). The container would not start. lxe resolves
// the path as the container would, and gives LXD the result as the disk device's path.
#pragma once

#include <string>
#include <string_view>

namespace lxe::reconcile {

// `container_path` (absolute) resolved inside `rootfs` (a host directory holding the container's
// root filesystem) the way the kernel would resolve it in the container: every symlink followed,
// an absolute target taken from the container's root, `..` stopping at that root, so nothing ever
// leads outside `rootfs`. Nothing is followed on the host side: each component is looked at with
// lstat/readlink relative to an O_PATH descriptor of its directory. The part of the path that does
// not exist yet is kept as written (`..` applied to it lexically): LXC creates it when it mounts.
// Throws std::runtime_error naming the path for more than 40 symlinks (a loop, as the kernel's
// ELOOP), a component that is not a directory but has more path after it, a path that resolves
// to the container's root itself, and anything unreadable.
std::string resolve_in_rootfs(const std::string& rootfs, std::string_view container_path);

}  // namespace lxe::reconcile
