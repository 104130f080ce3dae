// Facts about host filesystems that CRI reports to kubelet (ImageFsInfo, the writable layers of
// container stats): which mount holds a path, and how much a folder uses on disk.
#pragma once

#include <atomic>
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

// What a folder tree uses on disk, as du counts it: allocated bytes (st_blocks * 512, not apparent
// sizes) and inodes, the folder itself included, symlinks not followed, each hard-linked inode once.
struct DiskUsage {
  uint64_t bytes = 0;
  uint64_t inodes = 0;
};

// Bounds of one walk, for trees whose size lxe does not control (a container's root filesystem may
// hold millions of files).
struct TreeWalkLimits {
  // Entries looked at (one lstat each, the root included, hard links and all); the walk stops
  // before the one past this.
  uint64_t max_entries = UINT64_MAX;
  // As du -x: an entry on another filesystem than the root's (a mount point inside the tree) is
  // neither counted nor entered.
  bool one_filesystem = false;
  // Set by another thread to stop the walk early (a daemon shutting down); null: never.
  const std::atomic<bool>* cancel = nullptr;
};

// How a walk ended. Only Complete means `usage` is the whole tree's.
enum class TreeWalkEnd {
  Complete,        // every entry counted (except those that vanished while the walk ran)
  TooManyEntries,  // stopped at max_entries: usage is what was seen until then
  Unreadable,      // some entries could not be read (not because they vanished): usage misses them
  Missing,         // the root is not a folder (absent, a file, a symlink): usage is zero
  Cancelled,       // stopped by `cancel`
};

struct TreeUsage {
  DiskUsage usage;
  uint64_t entries = 0;  // entries looked at
  TreeWalkEnd end = TreeWalkEnd::Complete;
};

// Walks the tree at `path` within `limits`, without following symlinks, keeping one directory
// descriptor open per level of depth. An entry that vanishes while the walk runs (a live
// container's files come and go) is skipped; an unreadable one is skipped and makes the walk
// Unreadable.
TreeUsage measure_tree(const std::string& path, const TreeWalkLimits& limits);

// measure_tree without bounds, crossing into other filesystems: whatever could be read. A folder
// that does not exist uses nothing.
DiskUsage disk_usage(const std::string& path);

}  // namespace lxe
