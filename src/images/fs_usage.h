// What LXD's image storage uses on its filesystem, for ImageFsInfo: measured from the filesystem
// (du's way: allocated bytes and inodes), never asked of LXD, and cached, because kubelet asks
// every few seconds and a walk of a big image store is not free.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace lxe::images {

struct ImageFsUsage {
  std::string mount_point;  // "" when LXD's folder is not on this host
  uint64_t bytes = 0;
  uint64_t inodes = 0;
  int64_t measured_at_ns = 0;
};

// Measures now: the image files in <LXD dir>/images and the pools' image volumes
// (<LXD dir>/storage-pools/*/images) on the same filesystem. Containers' writable layers are not
// images: not counted.
ImageFsUsage measure_image_fs(const std::string& lxd_dir);

class ImageFsMeter {
 public:
  ImageFsMeter(std::string lxd_dir, std::chrono::seconds max_age) : lxd_dir_(std::move(lxd_dir)), max_age_(max_age) {}
  // The last measurement, taken again when it is older than max_age. Concurrent callers share one
  // walk.
  ImageFsUsage usage();

 private:
  const std::string lxd_dir_;
  const std::chrono::seconds max_age_;
  std::mutex mutex_;
  std::optional<ImageFsUsage> last_;
  std::chrono::steady_clock::time_point last_at_;
};

}  // namespace lxe::images
