// Pods without a holder: the namespaces lxe makes and pins, made for real in temporary folders
// (the tests run as root, as lxe does). No LXD: tests/integration/lifecycle_pinned_pod_test.cc
// starts containers in them.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/unique_fd.h"
#include "reconcile/idmapped_mount.h"
#include "reconcile/pinned_namespaces.h"
#include "support/temp_dir.h"

using lxe::UniqueFd;
using lxe::reconcile::IdRange;
using lxe::reconcile::is_mount_point;
using lxe::reconcile::lxd_default_idmap;
using lxe::reconcile::pin_pod_namespaces;
using lxe::reconcile::pinned_namespace_files;
using lxe::reconcile::pinned_netns_inode;
using lxe::reconcile::read_proc_net;
using lxe::reconcile::unpin_pod_namespaces;
namespace fs = std::filesystem;

namespace {

const std::vector<IdRange> kMap{IdRange{true, false, 0, 100000, 65536}, IdRange{false, true, 0, 100000, 65536}};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

ino_t inode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_ino;
}

// The user namespace that owns the namespace behind `file`.
ino_t owner_of(const std::string& file) {
  UniqueFd ns(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(ns.valid());
  UniqueFd owner(::ioctl(ns.get(), NS_GET_USERNS));
  REQUIRE(owner.valid());
  struct stat st {};
  REQUIRE(::fstat(owner.get(), &st) == 0);
  return st.st_ino;
}

}  // namespace

TEST_CASE("pinned pod namespaces: a user namespace with the idmap owns the network and IPC namespaces", "[pinned]") {
  lxe::test::TempDir tmp;
  const std::string dir = tmp.path() + "/pod";
  const int64_t netns = pin_pod_namespaces(dir, kMap);
  const auto files = pinned_namespace_files(dir);
  CHECK(is_mount_point(files.user));
  CHECK(is_mount_point(files.network));
  CHECK(is_mount_point(files.ipc));
  CHECK(netns == static_cast<int64_t>(inode_of(files.network)));
  CHECK(pinned_netns_inode(dir) == netns);
  // Not the host's.
  CHECK(inode_of(files.network) != inode_of("/proc/self/ns/net"));
  CHECK(inode_of(files.ipc) != inode_of("/proc/self/ns/ipc"));
  // Owned by the pinned user namespace, which has the map.
  CHECK(owner_of(files.network) == inode_of(files.user));
  CHECK(owner_of(files.ipc) == inode_of(files.user));

  // The loopback is up, and no other interface is there.
  const auto dev = read_proc_net(files.network, "dev");
  REQUIRE(dev);
  CHECK_THAT(*dev, Catch::Contains("lo:"));
  CHECK_THAT(*dev, !Catch::Contains("eth0"));
  const auto trie = read_proc_net(files.network, "fib_trie");
  REQUIRE(trie);
  CHECK_THAT(*trie, Catch::Contains("127.0.0.1"));  // lo up gives it its address

  unpin_pod_namespaces(dir);
  CHECK_FALSE(fs::exists(dir));
  CHECK_FALSE(pinned_netns_inode(dir));
  unpin_pod_namespaces(dir);  // again: nothing to do
}

TEST_CASE("pinned pod namespaces: pinning again replaces pins an unfinished call left", "[pinned]") {
  lxe::test::TempDir tmp;
  const std::string dir = tmp.path() + "/pod";
  const int64_t first = pin_pod_namespaces(dir, kMap);
  const int64_t second = pin_pod_namespaces(dir, kMap);
  CHECK(first != second);
  CHECK(pinned_netns_inode(dir) == second);
  // One mount per pin, not two stacked.
  const auto mountinfo = read_text("/proc/self/mountinfo");
  size_t count = 0;
  for (size_t at = mountinfo.find(dir + "/net "); at != std::string::npos; at = mountinfo.find(dir + "/net ", at + 1))
    ++count;
  CHECK(count == 1);
  unpin_pod_namespaces(dir);
}

TEST_CASE("pinned pod namespaces: plain files where pins were (a host reboot) are no pins", "[pinned]") {
  lxe::test::TempDir tmp;
  const std::string dir = tmp.path() + "/pod";
  fs::create_directories(dir);
  const auto files = pinned_namespace_files(dir);
  for (const auto& f : {files.user, files.network, files.ipc}) std::ofstream(f) << "";
  CHECK_FALSE(pinned_netns_inode(dir));
  // A network namespace file where the IPC one should be is no pin either.
  const int64_t made = pin_pod_namespaces(dir, kMap);
  CHECK(made != 0);
  REQUIRE(::umount2(files.ipc.c_str(), MNT_DETACH) == 0);
  REQUIRE(::mount(files.network.c_str(), files.ipc.c_str(), nullptr, MS_BIND, nullptr) == 0);
  CHECK_FALSE(pinned_netns_inode(dir));
  unpin_pod_namespaces(dir);
  CHECK_FALSE(fs::exists(dir));
}

TEST_CASE("pinned pod namespaces: a map without a gid range is refused before anything is made", "[pinned]") {
  lxe::test::TempDir tmp;
  const std::string dir = tmp.path() + "/pod";
  CHECK_THROWS_WITH(pin_pod_namespaces(dir, {IdRange{true, false, 0, 100000, 65536}}),
                    Catch::Contains("uid and a gid"));
  CHECK_FALSE(fs::exists(dir));
}

TEST_CASE("LXD's default idmap: the root ranges of subuid and subgid, else LXD's fallback", "[pinned]") {
  lxe::test::TempDir tmp;
  const std::string subuid = tmp.path() + "/subuid", subgid = tmp.path() + "/subgid";
  std::ofstream(subuid) << "_lxd:100000:10000001\nroot:100000:10000001\n";
  std::ofstream(subgid) << "root:200000:65536\nroot:400000:1000\nbad line\nroot:x:1\n";
  const auto map = lxd_default_idmap(subuid, subgid);
  REQUIRE(map.size() == 3);
  CHECK(map[0] == IdRange{true, false, 0, 100000, 10000001});
  CHECK(map[1] == IdRange{false, true, 0, 200000, 65536});
  CHECK(map[2] == IdRange{false, true, 65536, 400000, 1000});
  const auto fallback = lxd_default_idmap(tmp.path() + "/none", tmp.path() + "/none");
  REQUIRE(fallback.size() == 2);
  CHECK(fallback[0] == IdRange{true, false, 0, 1000000, 1000000000});
}

TEST_CASE("read_proc_net reads a holder's /proc directly and gives nothing for a missing namespace", "[pinned]") {
  const auto own = read_proc_net("/proc/self/ns/net", "dev");
  REQUIRE(own);
  CHECK_THAT(*own, Catch::Contains("lo:"));
  CHECK_FALSE(read_proc_net("/nonexistent/net", "dev"));
}
