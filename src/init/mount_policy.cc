#include "init/mount_policy.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>

#include "init/fd.h"
#include "init/sys.h"

namespace lxe::init {
namespace {

// The flags a bind remount must keep: in a user namespace the kernel refuses to clear the ones the
// mount got from a more privileged namespace (nosuid, nodev, noexec, the atime ones).
unsigned long kept_flags(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) return 0;
  unsigned long flags = 0;
  if (fs.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (fs.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (fs.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (fs.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (fs.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (fs.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

std::optional<std::string> remount_readonly(const std::string& path) {
  if (::mount(nullptr, path.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | kept_flags(path), nullptr) != 0)
    return "cannot make " + path + " read-only: " + errno_text(errno);
  return std::nullopt;
}

// Hides `path` itself, not what a symlink there points to (a masked /bin/ls in an image whose
// applets are symlinks to busybox must not hide busybox): /dev/null is moved onto the name with
// the new mount API, which does not follow the last component.
std::optional<std::string> mask(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    return "cannot mask " + path + ": " + errno_text(errno);
  }
  if (S_ISDIR(st.st_mode)) {
    if (::mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY, "size=0") != 0)
      return "cannot mask directory " + path + ": " + errno_text(errno);
    return std::nullopt;
  }
  Fd null_tree(static_cast<int>(::open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
  if (!null_tree.valid()) return "cannot mask " + path + " (a copy of /dev/null): " + errno_text(errno);
  if (::move_mount(null_tree.get(), "", AT_FDCWD, path.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return "cannot mask " + path + ": " + errno_text(errno);
  return std::nullopt;
}

std::optional<std::string> make_readonly(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    return "cannot make " + path + " read-only: " + errno_text(errno);
  }
  // A bind of the path onto itself makes it a mount point of its own, whose flag is then ours.
  if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return "cannot make " + path + " read-only: " + errno_text(errno);
  return remount_readonly(path);
}

}  // namespace

std::optional<std::string> enter_own_mount_namespace(bool new_proc) {
  if (::unshare(CLONE_NEWNS) != 0) return "cannot make a mount namespace for the workload: " + errno_text(errno);
  if (!new_proc) return std::nullopt;
  // Only /proc is made private, so that the new proc does not show up in the container's other
  // processes.
  if (::mount(nullptr, "/proc", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return "cannot make /proc private to the workload: " + errno_text(errno);
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    return "cannot mount /proc for the workload's PID namespace: " + errno_text(errno);
  return std::nullopt;
}

std::optional<std::string> apply_mount_policy(const MountPolicy& policy) {
  // Read-only paths before masks (runc's order); the root last, so that the mounts above can still
  // be made under it.
  for (const auto& path : policy.readonly_paths)
    if (auto error = make_readonly(path)) return error;
  for (const auto& path : policy.masked_paths)
    if (auto error = mask(path)) return error;
  if (policy.readonly_rootfs) return remount_readonly("/");
  return std::nullopt;
}

}  // namespace lxe::init
