// Host filesystem facts for ImageFsInfo: which mount holds a path, and what a folder uses on disk.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/filesystems.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using lxe::mount_point_of;

namespace {

// Lines as the kernel writes them (proc(5)), a few mounts nested in one another.
constexpr const char* kMountinfo =
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "31 27 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "60 27 7:0 / /var/lib/lxd/storage-pools/fast rw,relatime - btrfs /dev/loop0 rw\n"
    "61 27 0:50 / /var/lib/lxd/shmounts rw,relatime - tmpfs tmpfs rw\n"
    "62 27 254:1 / /srv/with\\040space rw,relatime - ext4 /dev/vdb rw\n"
    "63 27 254:2 / /var/lib/lxd/storage-pools/fa rw,relatime - ext4 /dev/vdc rw\n";

}  // namespace

TEST_CASE("mount_point_of: the longest mount point that holds the path", "[filesystems]") {
  CHECK(mount_point_of("/var/lib/lxd/images", kMountinfo) == "/");
  CHECK(mount_point_of("/var/lib/lxd/storage-pools/fast/images/abc", kMountinfo) ==
        "/var/lib/lxd/storage-pools/fast");
  CHECK(mount_point_of("/var/lib/lxd/storage-pools/fast", kMountinfo) == "/var/lib/lxd/storage-pools/fast");
  // A mount point that is only a prefix of the name, not a parent folder, does not hold it.
  CHECK(mount_point_of("/var/lib/lxd/storage-pools/faster/x", kMountinfo) == "/");
  // Escaped characters in the mount point are decoded.
  CHECK(mount_point_of("/srv/with space/images", kMountinfo) == "/srv/with space");
  CHECK(mount_point_of("/anything", "") == "/");
  CHECK(mount_point_of("/x", "garbage\n\n1 2\n") == "/");
}

TEST_CASE("mount_point_of: this host's mounts, symlinks resolved; nothing for a missing path", "[filesystems]") {
  CHECK(mount_point_of("/proc/self") == "/proc");
  CHECK(mount_point_of("/") == "/");
  CHECK(mount_point_of("/no/such/path/for/lxe").empty());
  lxe::test::TempDir dir;
  fs::create_directory_symlink("/proc", fs::path(dir.path()) / "link");
  CHECK(mount_point_of((fs::path(dir.path()) / "link" / "self").string()) == "/proc");
}

TEST_CASE("disk_usage: allocated bytes and inodes of a tree, hard links once", "[filesystems]") {
  lxe::test::TempDir dir;
  const fs::path root = fs::path(dir.path()) / "images";
  fs::create_directories(root / "sub");
  {
    std::ofstream(root / "a") << std::string(10000, 'x');
    std::ofstream(root / "sub" / "b") << std::string(5000, 'y');
  }
  fs::create_hard_link(root / "a", root / "sub" / "a-again");
  fs::create_symlink("/usr", root / "usr-link");  // not followed

  const auto usage = lxe::disk_usage(root.string());
  // The folder, sub, a, b and the symlink; the hard link is the same inode as a.
  CHECK(usage.inodes == 5);
  struct stat a {}, b {}, r {}, s {}, l {};
  REQUIRE(::lstat((root / "a").c_str(), &a) == 0);
  REQUIRE(::lstat((root / "sub" / "b").c_str(), &b) == 0);
  REQUIRE(::lstat(root.c_str(), &r) == 0);
  REQUIRE(::lstat((root / "sub").c_str(), &s) == 0);
  REQUIRE(::lstat((root / "usr-link").c_str(), &l) == 0);
  CHECK(usage.bytes == static_cast<uint64_t>(a.st_blocks + b.st_blocks + r.st_blocks + s.st_blocks + l.st_blocks) * 512);
  CHECK(usage.bytes >= 15000);

  const auto none = lxe::disk_usage(dir.file("missing"));
  CHECK(none.bytes == 0);
  CHECK(none.inodes == 0);
}
