#include "common/filesystems.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

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

DiskUsage disk_usage(const std::string& path) {
  DiskUsage usage;
  std::set<std::pair<dev_t, ino_t>> seen;
  const auto count = [&](const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return;
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && !seen.emplace(st.st_dev, st.st_ino).second) return;
    usage.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
    usage.inodes += 1;
  };
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(path, ec))) return usage;
  count(path);
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    count(it->path());
  return usage;
}

}  // namespace lxe
