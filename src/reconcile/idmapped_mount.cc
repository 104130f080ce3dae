#include "reconcile/idmapped_mount.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/filesystems.h"

namespace lxe::reconcile {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) { return std::strerror(err); }

[[noreturn]] void fail(const std::string& what, int err) { throw std::runtime_error(what + ": " + errno_text(err)); }

// The child make_user_namespace() clones: released (its pipe closed) and reaped when this goes
// out of scope, however the parent's work ended.
class ThrowawayChild {
 public:
  ThrowawayChild(pid_t pid, UniqueFd release) : pid_(pid), release_(std::move(release)) {}
  ~ThrowawayChild() {
    release_.reset();  // EOF: the child's read returns and it exits
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  ThrowawayChild(const ThrowawayChild&) = delete;
  ThrowawayChild& operator=(const ThrowawayChild&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
  UniqueFd release_;
};

void write_proc_file(const std::string& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) fail("cannot open " + path, errno);
  // The kernel takes a map in a single write.
  const ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n < 0) fail("cannot write " + path + " ('" + text + "')", errno);
  if (static_cast<size_t>(n) != text.size()) throw std::runtime_error("short write to " + path);
}

}  // namespace

void make_mount_point(const std::string& target, bool directory) {
  struct stat st {};
  if (::lstat(target.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode) == directory && (directory || S_ISREG(st.st_mode))) return;
    // The host path changed kind since the last staging (a directory became a file, say).
    if (is_mount_point(target)) throw std::runtime_error("cannot stage at " + target + ": something is mounted there");
    if (::remove(target.c_str()) != 0) fail("cannot replace the mount point " + target, errno);
  } else if (errno != ENOENT) {
    fail("cannot stat " + target, errno);
  }
  if (directory) {
    if (::mkdir(target.c_str(), 0700) != 0) fail("cannot create the mount point " + target, errno);
  } else {
    UniqueFd fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) fail("cannot create the mount point " + target, errno);
  }
}

namespace {

std::string read_mountinfo() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) throw std::runtime_error("cannot read /proc/self/mountinfo");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool at_or_below(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

}  // namespace

void require_id_maps(const std::vector<IdRange>& ranges, const std::string& what) {
  const bool uid = !id_map_file(ranges, true).empty(), gid = !id_map_file(ranges, false).empty();
  if (!uid || !gid)
    throw std::runtime_error(what + " needs both a uid and a gid mapping; LXD's idmap has " +
                             std::string(!uid ? "no uid" : "no gid") + " range");
}

void write_id_maps(long pid, const std::vector<IdRange>& ranges) {
  const std::string proc = "/proc/" + std::to_string(pid);
  write_proc_file(proc + "/uid_map", id_map_file(ranges, true));
  write_proc_file(proc + "/gid_map", id_map_file(ranges, false));
}

UniqueFd make_user_namespace(const std::vector<IdRange>& ranges) {
  require_id_maps(ranges, "an idmapped mount");
  int hold[2];
  if (::pipe2(hold, O_CLOEXEC) != 0) fail("cannot make a pipe", errno);
  UniqueFd hold_read(hold[0]), hold_write(hold[1]);
  // A raw clone, as fork() would run the fork handlers of the libraries of this multi-threaded
  // process (gRPC's among them). The child is a copy of this thread alone and only blocks on the
  // pipe, then exits: nothing in it touches state another thread may have held.
  const long pid = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) fail("cannot create a user namespace (clone CLONE_NEWUSER)", errno);
  if (pid == 0) {
    ::close(hold[1]);
    char c;
    while (::read(hold[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  hold_read.reset();
  ThrowawayChild child(static_cast<pid_t>(pid), std::move(hold_write));
  write_id_maps(pid, ranges);
  const std::string proc = "/proc/" + std::to_string(pid);
  UniqueFd ns(::open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) fail("cannot open " + proc + "/ns/user", errno);
  return ns;
}

StagedMount stage_bind_mount(const std::string& source, const std::string& target, const UniqueFd& userns,
                             bool readonly) {
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0) fail("host path " + source, errno);
  make_mount_point(target, S_ISDIR(st.st_mode));

  UniqueFd tree(::open_tree(AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (!tree.valid()) fail("cannot clone the mount of " + source + " (open_tree)", errno);
  StagedMount result;
  if (userns.valid()) {
    struct mount_attr attr {};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<uint64_t>(userns.get());
    if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) == 0) {
      result.idmapped = true;
    } else if (errno == EINVAL) {
      // This filesystem (or this mount of it) does not take an idmap; the volume still works, with
      // host root shown as nobody, as LXD's own host-path devices do.
      result.note = "the filesystem of " + source +
                    " cannot be idmapped (mount_setattr MOUNT_ATTR_IDMAP: " + errno_text(EINVAL) +
                    "): mounted without the container's idmap, host root shows as nobody there";
    } else {
      fail("cannot idmap the mount of " + source + " (mount_setattr MOUNT_ATTR_IDMAP)", errno);
    }
  }
  if (readonly) {
    struct mount_attr attr {};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0)
      fail("cannot make the mount of " + source +
               " read-only (mount_setattr MOUNT_ATTR_RDONLY); refusing to mount it writable",
           errno);
  }
  if (::move_mount(tree.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    fail("cannot mount " + source + " at " + target + " (move_mount)", errno);
  return result;
}

bool is_mount_point(const std::string& path) {
  struct statx stx {};
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) != 0) return false;
  if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  // Kernels before 5.8 do not report it: the mount table does.
  const auto points = mount_points(read_mountinfo());
  return std::find(points.begin(), points.end(), path) != points.end();
}

void unmount_all_under(const std::string& dir) {
  // Stacked mounts (one staging over another) need a round each; a handful is plenty.
  for (int round = 0; round < 16; ++round) {
    std::vector<std::string> below;
    for (auto& p : mount_points(read_mountinfo()))
      if (at_or_below(p, dir)) below.push_back(std::move(p));
    if (below.empty()) return;
    std::sort(below.begin(), below.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& p : below)
      if (::umount2(p.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL && errno != ENOENT)
        fail("cannot unmount " + p, errno);
  }
  throw std::runtime_error("mounts below " + dir + " are still there after unmounting them 16 times");
}

std::string idmapped_mounts_problem(const std::string& dir) {
  UniqueFd userns;
  try {
    // Any mapping does for the probe: the namespace and the mount are thrown away.
    userns = make_user_namespace({IdRange{true, true, 0, 65534, 1}});
  } catch (const std::exception& e) {
    return e.what();
  }
  UniqueFd tree(::open_tree(AT_FDCWD, dir.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (!tree.valid()) {
    const int err = errno;
    return "cannot clone a mount (open_tree" + std::string(err == ENOSYS ? ", Linux 5.2 or later" : "") +
           "): " + errno_text(err);
  }
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns.get());
  if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0 && errno != EINVAL) {
    const int err = errno;
    return "cannot make an idmapped mount (mount_setattr MOUNT_ATTR_IDMAP" +
           std::string(err == ENOSYS ? ", Linux 5.12 or later" : "") + "): " + errno_text(err);
  }
  return "";
}

}  // namespace lxe::reconcile
