// Facts about host filesystems that CRI reports to kubelet (ImageFsInfo): which mount holds a path,
// and how much a folder uses on disk.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lxe {

// The mount point (as /proc/self/mountinfo lists it, octal escapes decoded) that holds the absolute
// `path`: the longest mount point that is `path` or one of its parent folders. "/" when none is
// longer. `path` should already be canonical (symlinks resolved).
std::string mount_point_of(const std::string& path, std::string_view mountinfo);

// Every mount point in `mountinfo` (proc(5) format), octal escapes decoded, in the order listed.
std::vector<std::string> mount_points(std::string_view mountinfo);

// The same for this process's mounts, after resolving symlinks in `path`. Empty when `path` does
// not exist or /proc/self/mountinfo cannot be read.
std::string mount_point_of(const std::string& path);

// What a folder tree uses on disk, as du counts it: allocated bytes (not apparent sizes) and
// inodes, the folder itself included, symlinks not followed, each hard-linked inode once. A folder
// that does not exist uses nothing; entries that vanish while counting are skipped.
struct DiskUsage {
  uint64_t bytes = 0;
  uint64_t inodes = 0;
};
DiskUsage disk_usage(const std::string& path);

}  // namespace lxe
