// What kubelet asks lxe about the node rather than about pods: the cgroup driver (RuntimeConfig)
// and the filesystem that holds LXD's images (ImageFsInfo). No LXD needed: lxe is pointed at a
// socket nobody answers, in a folder laid out as an LXD folder.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "common/filesystems.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
namespace v1 = runtime::v1;
using lxe::test::TempDir;

TEST_CASE("RuntimeConfig: the cgroup driver is cgroupfs, the one LXD's containers use", "[daemon][node]") {
  TempDir dir;
  lxe::test::make_dead_socket(dir.file("lxd.sock"));
  lxe::test::DaemonProcess lxe(dir, {"--lxd-socket", dir.file("lxd.sock")});
  auto ctx = lxe::test::context_with_deadline();
  v1::RuntimeConfigResponse response;
  REQUIRE(lxe.runtime().RuntimeConfig(ctx.get(), v1::RuntimeConfigRequest(), &response).ok());
  REQUIRE(response.has_linux());
  CHECK(response.linux().cgroup_driver() == v1::CGROUPFS);
}

TEST_CASE("ImageFsInfo: the mount point that holds LXD's images and what the images use there", "[daemon][node]") {
  TempDir dir;  // stands for LXD's folder: its socket, images/ and storage-pools/
  lxe::test::make_dead_socket(dir.file("lxd.sock"));
  lxe::test::DaemonProcess lxe(dir, {"--lxd-socket", dir.file("lxd.sock")});

  SECTION("image files and the pools' image volumes on the same filesystem are counted") {
    const fs::path root(dir.path());
    fs::create_directories(root / "images");
    fs::create_directories(root / "storage-pools" / "default" / "images" / "f00d" / "rootfs");
    fs::create_directories(root / "storage-pools" / "default" / "containers" / "c1");
    std::ofstream(root / "images" / "f00d") << std::string(20000, 'i');
    std::ofstream(root / "storage-pools" / "default" / "images" / "f00d" / "rootfs" / "bin") << std::string(9000, 'b');
    // A container's files are not images.
    std::ofstream(root / "storage-pools" / "default" / "containers" / "c1" / "data") << std::string(50000, 'c');

    auto ctx = lxe::test::context_with_deadline();
    v1::ImageFsInfoResponse response;
    REQUIRE(lxe.images().ImageFsInfo(ctx.get(), v1::ImageFsInfoRequest(), &response).ok());
    REQUIRE(response.image_filesystems_size() == 1);
    const auto& filesystem = response.image_filesystems(0);
    // A mount point kubelet (cadvisor) can look up, not just a folder on it.
    CHECK(filesystem.fs_id().mountpoint() == lxe::mount_point_of(dir.path()));
    CHECK(filesystem.timestamp() > 0);
    const auto images = lxe::disk_usage(dir.file("images"));
    const auto volumes = lxe::disk_usage(dir.file("storage-pools/default/images"));
    CHECK(filesystem.used_bytes().value() == images.bytes + volumes.bytes);
    CHECK(filesystem.inodes_used().value() == images.inodes + volumes.inodes);
    CHECK(filesystem.used_bytes().value() >= 29000);
    CHECK(filesystem.used_bytes().value() < 50000);
  }

  SECTION("no image folder yet: the mount point that will hold it, nothing used") {
    auto ctx = lxe::test::context_with_deadline();
    v1::ImageFsInfoResponse response;
    REQUIRE(lxe.images().ImageFsInfo(ctx.get(), v1::ImageFsInfoRequest(), &response).ok());
    REQUIRE(response.image_filesystems_size() == 1);
    CHECK(response.image_filesystems(0).fs_id().mountpoint() == lxe::mount_point_of(dir.path()));
    CHECK(response.image_filesystems(0).used_bytes().value() == 0);
  }
}

TEST_CASE("ImageFsInfo: no LXD folder on this host -> FAILED_PRECONDITION naming it", "[daemon][node]") {
  TempDir dir;
  const fs::path lxd_dir = fs::path(dir.path()) / "lxd";
  fs::create_directories(lxd_dir);
  lxe::test::make_dead_socket((lxd_dir / "unix.socket").string());
  lxe::test::DaemonProcess lxe(dir, {"--lxd-socket", (lxd_dir / "unix.socket").string()});
  fs::remove_all(lxd_dir);  // as for an LXD whose folder lxe cannot see

  auto ctx = lxe::test::context_with_deadline();
  v1::ImageFsInfoResponse response;
  const auto status = lxe.images().ImageFsInfo(ctx.get(), v1::ImageFsInfoRequest(), &response);
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(status.error_message(), Catch::Contains(lxd_dir.string()) && Catch::Contains("not on this host"));
  CHECK(response.image_filesystems_size() == 0);
}
