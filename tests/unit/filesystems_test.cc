// Host filesystem facts for ImageFsInfo and writable layers: which mount holds a path, and what a
// folder uses on disk (bounded walks included).
#include <sys/mount.h>
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
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

namespace {

lxe::TreeWalkLimits limits(uint64_t max_entries, bool one_filesystem = false,
                          const std::atomic<bool>* cancel = nullptr) {
  lxe::TreeWalkLimits out;
  out.max_entries = max_entries;
  out.one_filesystem = one_filesystem;
  out.cancel = cancel;
  return out;
}

// The blocks `path` itself uses, as measure_tree counts them.
uint64_t bytes_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

}  // namespace

TEST_CASE("measure_tree: files, hard links once, symlinks not followed, a complete walk", "[filesystems]") {
  lxe::test::TempDir dir;
  const fs::path root = fs::path(dir.path()) / "rootfs";
  fs::create_directories(root / "var" / "lib");
  {
    std::ofstream(root / "var" / "lib" / "data") << std::string(64 * 1024, 'x');
    std::ofstream(root / "small") << "y";
  }
  fs::create_hard_link(root / "var" / "lib" / "data", root / "data-link");
  fs::create_directory_symlink("/usr", root / "usr");  // a whole tree behind it, not counted

  const auto tree = lxe::measure_tree(root.string(), limits(100, true));
  CHECK(tree.end == lxe::TreeWalkEnd::Complete);
  // rootfs, var, lib, data, small, data-link, usr: seven entries looked at, six inodes.
  CHECK(tree.entries == 7);
  CHECK(tree.usage.inodes == 6);
  CHECK(tree.usage.bytes == bytes_of(root) + bytes_of(root / "var") + bytes_of(root / "var" / "lib") +
                                bytes_of(root / "var" / "lib" / "data") + bytes_of(root / "small") +
                                bytes_of(root / "usr"));
  CHECK(tree.usage.bytes >= 64 * 1024);
  // disk_usage is the same walk without bounds.
  CHECK(lxe::disk_usage(root.string()).bytes == tree.usage.bytes);
}

TEST_CASE("measure_tree: the entry bound stops the walk and says so", "[filesystems]") {
  lxe::test::TempDir dir;
  const fs::path root = fs::path(dir.path()) / "many";
  fs::create_directories(root / "sub");
  for (int i = 0; i < 10; ++i) std::ofstream(root / "sub" / ("f" + std::to_string(i))) << i;
  // The root, sub and ten files: twelve entries.
  const auto at_bound = lxe::measure_tree(root.string(), limits(12));
  CHECK(at_bound.end == lxe::TreeWalkEnd::Complete);
  CHECK(at_bound.usage.inodes == 12);

  const auto cut = lxe::measure_tree(root.string(), limits(5));
  CHECK(cut.end == lxe::TreeWalkEnd::TooManyEntries);
  CHECK(cut.entries == 5);
  CHECK(cut.usage.inodes <= 5);

  const auto none = lxe::measure_tree(root.string(), limits(0));
  CHECK(none.end == lxe::TreeWalkEnd::TooManyEntries);
  CHECK(none.usage.inodes == 0);

  const std::atomic<bool> cancelled{true};
  CHECK(lxe::measure_tree(root.string(), limits(UINT64_MAX, false, &cancelled)).end ==
        lxe::TreeWalkEnd::Cancelled);
}

TEST_CASE("measure_tree: a root that is missing, a file or a symlink is Missing and uses nothing", "[filesystems]") {
  lxe::test::TempDir dir;
  fs::create_directory(dir.file("gone"));
  fs::remove(dir.file("gone"));
  lxe::test::write_file(dir.file("file"), "x");
  fs::create_directory(dir.file("real"));
  fs::create_directory_symlink(dir.file("real"), dir.file("link"));
  for (const char* name : {"gone", "file", "link"}) {
    INFO(name);
    const auto tree = lxe::measure_tree(dir.file(name), lxe::TreeWalkLimits{});
    CHECK(tree.end == lxe::TreeWalkEnd::Missing);
    CHECK(tree.usage.bytes == 0);
    CHECK(tree.usage.inodes == 0);
  }
}

TEST_CASE("measure_tree: one_filesystem neither counts nor enters a mount inside the tree", "[filesystems]") {
  lxe::test::TempDir dir;
  const fs::path root = fs::path(dir.path()) / "rootfs";
  fs::create_directories(root / "mnt");
  std::ofstream(root / "file") << "x";
  if (::mount("lxe-test", (root / "mnt").c_str(), "tmpfs", 0, "size=4m") != 0) {
    WARN("cannot mount a tmpfs here (" << std::strerror(errno) << "): not checked");
    return;
  }
  std::ofstream(root / "mnt" / "other") << std::string(8192, 'z');
  const auto same = lxe::measure_tree(root.string(), limits(UINT64_MAX, true));
  const auto across = lxe::measure_tree(root.string(), lxe::TreeWalkLimits{});
  ::umount2((root / "mnt").c_str(), MNT_DETACH);
  CHECK(same.end == lxe::TreeWalkEnd::Complete);
  CHECK(same.usage.inodes == 2);  // rootfs and file: the tmpfs's root and its file are another filesystem's
  CHECK(across.usage.inodes == 4);
}
