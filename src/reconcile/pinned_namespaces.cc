#include "reconcile/pinned_namespaces.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/unique_fd.h"
#include "reconcile/idmapped_mount.h"

namespace lxe::reconcile {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what, int err) {
  throw std::runtime_error(what + ": " + std::strerror(err));
}

ssize_t read_retrying(int fd, char* c) {
  ssize_t n;
  while ((n = ::read(fd, c, 1)) < 0 && errno == EINTR) {
  }
  return n;
}

// The child cloned into the pod's new namespaces. It waits for its maps, brings the loopback up
// (it is root of the user namespace that owns the network namespace), reports, and stays until the
// parent closes `go`. Only system calls: it is a copy of one thread of a multi-threaded process.
[[noreturn]] void namespace_child(int go, int go_write, int done, int done_read) {
  // The parent's ends: with them open here, the parent closing `go` would never reach this child.
  ::close(go_write);
  ::close(done_read);
  char c = 0;
  if (read_retrying(go, &c) != 1) ::_exit(1);
  char status = 0;
  const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr {};
  std::memcpy(ifr.ifr_name, "lo", 3);
  if (sock < 0 || ::ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) {
    status = static_cast<char>(errno);
  } else {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(sock, SIOCSIFFLAGS, &ifr) != 0) status = static_cast<char>(errno);
  }
  while (::write(done, &status, 1) < 0 && errno == EINTR) {
  }
  while (read_retrying(go, &c) > 0) {
  }
  ::_exit(0);
}

// Reaps the child however the parent's work ends: closing `go` lets it exit.
class NamespaceChild {
 public:
  NamespaceChild(pid_t pid, UniqueFd go) : pid_(pid), go_(std::move(go)) {}
  ~NamespaceChild() {
    go_.reset();
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  NamespaceChild(const NamespaceChild&) = delete;
  NamespaceChild& operator=(const NamespaceChild&) = delete;
  pid_t pid() const { return pid_; }
  int go() const { return go_.get(); }

 private:
  pid_t pid_;
  UniqueFd go_;
};

// The namespace file at `path` is a pin of a namespace of `kind`: its inode, else nullopt.
std::optional<int64_t> namespace_inode(const std::string& path, int kind) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  struct statfs sfs {};
  if (::fstatfs(fd.get(), &sfs) != 0 || sfs.f_type != NSFS_MAGIC) return std::nullopt;
  if (::ioctl(fd.get(), NS_GET_NSTYPE) != kind) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return std::nullopt;
  return static_cast<int64_t>(st.st_ino);
}

void unpin(const std::string& file) {
  if (!is_mount_point(file)) return;
  if (::umount2(file.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL && errno != ENOENT)
    fail("cannot unmount the namespace pin " + file, errno);
}

std::vector<IdRange> root_ranges(const std::string& path, bool uid) {
  std::ifstream in(path);
  if (!in) {
    if (fs::exists(path)) throw std::runtime_error("cannot read " + path);
    return {};
  }
  std::vector<IdRange> ranges;
  uint32_t next_ns = 0;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string user, start, count;
    if (!std::getline(fields, user, ':') || !std::getline(fields, start, ':') || !std::getline(fields, count)) continue;
    if (user != "root") continue;
    try {
      const auto host = std::stoul(start), n = std::stoul(count);
      if (n == 0) continue;
      ranges.push_back({uid, !uid, next_ns, static_cast<uint32_t>(host), static_cast<uint32_t>(n)});
      next_ns += static_cast<uint32_t>(n);
    } catch (const std::exception&) {
      continue;  // not a range: LXD skips it too
    }
  }
  return ranges;
}

}  // namespace

PinnedNamespaceFiles pinned_namespace_files(const std::string& dir) {
  return {dir + "/user", dir + "/net", dir + "/ipc"};
}

int64_t pin_pod_namespaces(const std::string& dir, const std::vector<IdRange>& ranges) {
  require_id_maps(ranges, "the pod's user namespace");
  // Whatever an unfinished call left: nothing has joined it (containers start once the pod is made).
  unpin_pod_namespaces(dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create " + dir + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, ec);

  int go[2], done[2];
  if (::pipe2(go, O_CLOEXEC) != 0) fail("cannot make a pipe", errno);
  UniqueFd go_read(go[0]), go_write(go[1]);
  if (::pipe2(done, O_CLOEXEC) != 0) fail("cannot make a pipe", errno);
  UniqueFd done_read(done[0]), done_write(done[1]);
  // A raw clone (no fork handlers of this multi-threaded daemon's libraries run): the child is a
  // copy of this thread alone and makes only system calls.
  const long pid =
      ::syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) fail("cannot create the pod's namespaces (clone CLONE_NEWUSER|CLONE_NEWNET|CLONE_NEWIPC)", errno);
  if (pid == 0) namespace_child(go[0], go[1], done[1], done[0]);
  go_read.reset();
  done_write.reset();
  NamespaceChild child(static_cast<pid_t>(pid), std::move(go_write));
  write_id_maps(pid, ranges);
  const std::string proc = "/proc/" + std::to_string(pid);
  char c = 'g';
  if (::write(child.go(), &c, 1) != 1) fail("cannot signal the namespace child", errno);
  char status = 0;
  if (read_retrying(done_read.get(), &status) != 1)
    throw std::runtime_error("the process making the pod's namespaces ended early");
  if (status != 0) fail("cannot bring up the loopback interface of the pod's network namespace", status);

  const auto files = pinned_namespace_files(dir);
  for (const auto& [kind, file] : {std::pair{"user", files.user}, {"net", files.network}, {"ipc", files.ipc}}) {
    make_mount_point(file, false);
    const std::string source = proc + "/ns/" + kind;
    if (::mount(source.c_str(), file.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      const int err = errno;
      unpin_pod_namespaces(dir);
      fail("cannot pin " + source + " at " + file, err);
    }
  }
  const auto inode = pinned_netns_inode(dir);
  if (!inode) {
    unpin_pod_namespaces(dir);
    throw std::runtime_error("the pins under " + dir + " do not hold the pod's namespaces after mounting them");
  }
  return *inode;
}

std::optional<int64_t> pinned_netns_inode(const std::string& dir) {
  const auto files = pinned_namespace_files(dir);
  if (!namespace_inode(files.user, CLONE_NEWUSER) || !namespace_inode(files.ipc, CLONE_NEWIPC)) return std::nullopt;
  return namespace_inode(files.network, CLONE_NEWNET);
}

void unpin_pod_namespaces(const std::string& dir) {
  if (!fs::exists(dir)) return;
  const auto files = pinned_namespace_files(dir);
  for (const auto& file : {files.user, files.network, files.ipc}) unpin(file);
  // Never remove_all: a pin that is still mounted would be followed into.
  for (const auto& file : {files.user, files.network, files.ipc}) {
    if (is_mount_point(file)) throw std::runtime_error(file + " is still mounted");
    if (::unlink(file.c_str()) != 0 && errno != ENOENT) fail("cannot remove " + file, errno);
  }
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) fail("cannot remove " + dir, errno);
}

std::vector<IdRange> lxd_default_idmap(const std::string& subuid, const std::string& subgid) {
  auto uids = root_ranges(subuid, true), gids = root_ranges(subgid, false);
  if (uids.empty() || gids.empty())
    return {IdRange{true, false, 0, 1000000, 1000000000}, IdRange{false, true, 0, 1000000, 1000000000}};
  uids.insert(uids.end(), gids.begin(), gids.end());
  return uids;
}

std::optional<std::string> read_proc_net(const std::string& netns, const std::string& name) {
  auto read_all = [](const std::string& path) -> std::optional<std::string> {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  constexpr std::string_view kSuffix = "/ns/net";
  if (netns.rfind("/proc/", 0) == 0 && netns.size() > kSuffix.size() &&
      netns.compare(netns.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0)
    return read_all(netns.substr(0, netns.size() - kSuffix.size()) + "/net/" + name);
  UniqueFd ns(::open(netns.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return std::nullopt;
  // A network namespace is a thread's: a thread of its own enters it and reads its /proc view,
  // then ends (no other thread of this process changes namespace).
  std::optional<std::string> out;
  std::thread reader([&] {
    if (::setns(ns.get(), CLONE_NEWNET) != 0) return;
    out = read_all("/proc/thread-self/net/" + name);
  });
  reader.join();
  return out;
}

}  // namespace lxe::reconcile
