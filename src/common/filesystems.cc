#include "common/filesystems.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

namespace lxe {

namespace fs = std::filesystem;

namespace {

// mountinfo escapes space, tab, newline and backslash in paths as \ooo (three octal digits).
std::string decode_octal_escapes(std::string_view field) {
  const auto octal = [&](size_t k) { return k < field.size() && field[k] >= '0' && field[k] <= '7'; };
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out.push_back(static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(field[i]);
    }
  }
  return out;
}

// `path` is `mount` or lies below it.
bool is_within(const std::string& path, const std::string& mount) {
  if (mount == "/") return !path.empty() && path[0] == '/';
  return path == mount || (path.size() > mount.size() && path.compare(0, mount.size(), mount) == 0 &&
                           path[mount.size()] == '/');
}

}  // namespace

std::vector<std::string> mount_points(std::string_view mountinfo) {
  std::vector<std::string> out;
  std::istringstream lines{std::string(mountinfo)};
  std::string line;
  while (std::getline(lines, line)) {
    // "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw": the fifth field.
    std::istringstream fields(line);
    std::string id, parent, device, root, mount;
    if (fields >> id >> parent >> device >> root >> mount) out.push_back(decode_octal_escapes(mount));
  }
  return out;
}

std::string mount_point_of(const std::string& path, std::string_view mountinfo) {
  std::string best = "/";
  for (auto& mount : mount_points(mountinfo))
    if (mount.size() > best.size() && is_within(path, mount)) best = std::move(mount);
  return best;
}

std::string mount_point_of(const std::string& path) {
  std::error_code ec;
  const auto canonical = fs::canonical(path, ec);
  if (ec) return "";
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return "";
  std::stringstream text;
  text << in.rdbuf();
  return mount_point_of(canonical.string(), text.str());
}

namespace {

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};
using DirHandle = std::unique_ptr<DIR, DirCloser>;

// The entry went away (or was replaced by a file or a symlink) between readdir and the next step:
// a live tree does that, and what is gone uses nothing.
bool vanished(int error) { return error == ENOENT || error == ENOTDIR || error == ELOOP; }

constexpr int kOpenDir = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

}  // namespace

TreeUsage measure_tree(const std::string& path, const TreeWalkLimits& limits) {
  TreeUsage out;
  std::set<std::pair<dev_t, ino_t>> linked;  // hard-linked inodes already counted
  const auto count = [&](const struct stat& st) {
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !linked.emplace(st.st_dev, st.st_ino).second) return;
    out.usage.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
    out.usage.inodes += 1;
  };

  const int root_fd = ::open(path.c_str(), kOpenDir);
  if (root_fd < 0) {
    out.end = vanished(errno) ? TreeWalkEnd::Missing : TreeWalkEnd::Unreadable;
    return out;
  }
  DirHandle root(::fdopendir(root_fd));
  if (!root) {
    ::close(root_fd);
    out.end = TreeWalkEnd::Unreadable;
    return out;
  }
  struct stat root_st {};
  if (::fstat(root_fd, &root_st) != 0) {
    out.end = TreeWalkEnd::Unreadable;
    return out;
  }
  if (limits.max_entries == 0) {
    out.end = TreeWalkEnd::TooManyEntries;
    return out;
  }
  out.entries = 1;
  count(root_st);

  bool unreadable = false;
  // Depth first; the back is the folder being read.
  std::vector<DirHandle> open_dirs;
  open_dirs.push_back(std::move(root));
  while (!open_dirs.empty()) {
    if (limits.cancel && limits.cancel->load(std::memory_order_relaxed)) {
      out.end = TreeWalkEnd::Cancelled;
      return out;
    }
    DIR* const dir = open_dirs.back().get();
    errno = 0;
    const struct dirent* entry = ::readdir(dir);
    if (!entry) {
      if (errno != 0 && !vanished(errno)) unreadable = true;
      open_dirs.pop_back();
      continue;
    }
    if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
    if (out.entries >= limits.max_entries) {
      out.end = TreeWalkEnd::TooManyEntries;
      return out;
    }
    ++out.entries;
    struct stat st {};
    if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (!vanished(errno)) unreadable = true;
      continue;
    }
    if (limits.one_filesystem && st.st_dev != root_st.st_dev) continue;
    count(st);
    if (!S_ISDIR(st.st_mode)) continue;
    const int fd = ::openat(::dirfd(dir), entry->d_name, kOpenDir);
    if (fd < 0) {
      if (!vanished(errno)) unreadable = true;
      continue;
    }
    DirHandle sub(::fdopendir(fd));
    if (!sub) {
      ::close(fd);
      unreadable = true;
      continue;
    }
    open_dirs.push_back(std::move(sub));
  }
  out.end = unreadable ? TreeWalkEnd::Unreadable : TreeWalkEnd::Complete;
  return out;
}

DiskUsage disk_usage(const std::string& path) { return measure_tree(path, TreeWalkLimits{}).usage; }

}  // namespace lxe
