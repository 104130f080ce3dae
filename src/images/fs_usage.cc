#include "images/fs_usage.h"

#include <filesystem>

#include "common/filesystems.h"
#include "common/time.h"

namespace lxe::images {

namespace fs = std::filesystem;

ImageFsUsage measure_image_fs(const std::string& lxd_dir_text) {
  const fs::path lxd_dir(lxd_dir_text);
  const fs::path images_dir = lxd_dir / "images";
  ImageFsUsage out;
  out.measured_at_ns = now_ns();
  // Before LXD's first image its image folder may not exist yet: the mount that will hold it.
  std::error_code ec;
  out.mount_point = mount_point_of((fs::exists(images_dir, ec) ? images_dir : lxd_dir).string());
  if (out.mount_point.empty()) return out;
  DiskUsage usage = disk_usage(images_dir.string());
  for (const auto& pool : fs::directory_iterator(lxd_dir / "storage-pools", ec)) {
    const fs::path pool_images = pool.path() / "images";
    if (mount_point_of(pool_images.string()) != out.mount_point) continue;
    const DiskUsage volumes = disk_usage(pool_images.string());
    usage.bytes += volumes.bytes;
    usage.inodes += volumes.inodes;
  }
  out.bytes = usage.bytes;
  out.inodes = usage.inodes;
  return out;
}

ImageFsUsage ImageFsMeter::usage() {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (!last_ || now - last_at_ >= max_age_) {
    last_ = measure_image_fs(lxd_dir_);
    last_at_ = now;
  }
  return *last_;
}

}  // namespace lxe::images
