#include "reconcile/rootfs_paths.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <vector>

#include "common/unique_fd.h"

namespace lxe::reconcile {

namespace {

// The kernel's limit on symlinks in one lookup (MAXSYMLINKS).
constexpr int kMaxSymlinks = 40;

std::deque<std::string> components(std::string_view path) {
  std::deque<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    const size_t slash = path.find('/', i);
    const size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > i) out.emplace_back(path.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

}  // namespace

std::string resolve_in_rootfs(const std::string& rootfs, std::string_view container_path) {
  const std::string what = "container path '" + std::string(container_path) + "'";
  if (container_path.empty() || container_path.front() != '/')
    throw std::runtime_error(what + " is not an absolute path");
  const auto fail = [&](const std::string& why) { throw std::runtime_error(what + ": " + why); };

  // dirs[i] is the directory that resolved[0..i) names; resolved may run past the directories that
  // exist (the part LXC will create), and then dirs stops growing.
  std::vector<UniqueFd> dirs;
  dirs.emplace_back(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dirs.back().valid()) fail("cannot open the container's root filesystem " + rootfs + ": " + std::strerror(errno));
  std::vector<std::string> resolved;
  std::deque<std::string> pending = components(container_path);
  int symlinks = 0;
  bool after_file = false;  // the last component is an existing non-directory

  const auto back_to_root = [&] {
    dirs.resize(1);
    resolved.clear();
  };
  const auto in_existing = [&] { return resolved.size() + 1 == dirs.size(); };

  while (!pending.empty()) {
    std::string name = std::move(pending.front());
    pending.pop_front();
    if (after_file) fail("'" + join(resolved) + "' in the container is not a directory");
    if (name == ".") continue;
    if (name == "..") {
      // Above the container's root is its root, as for any process in it.
      if (resolved.empty()) continue;
      if (in_existing()) dirs.pop_back();
      resolved.pop_back();
      continue;
    }
    if (!in_existing()) {  // below something that does not exist: nothing more to look at
      resolved.push_back(std::move(name));
      continue;
    }
    const int dir = dirs.back().get();
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) fail("cannot look at '" + join(resolved) + "/" + name + "': " + std::strerror(errno));
      resolved.push_back(std::move(name));
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      if (++symlinks > kMaxSymlinks)
        fail("more than " + std::to_string(kMaxSymlinks) + " symbolic links (a loop?) in the container");
      std::vector<char> target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 4096) + 1);
      const ssize_t n = ::readlinkat(dir, name.c_str(), target.data(), target.size());
      if (n < 0) fail("cannot read the symbolic link '" + join(resolved) + "/" + name + "': " + std::strerror(errno));
      const std::string_view link(target.data(), static_cast<size_t>(n));
      if (link.empty()) fail("'" + join(resolved) + "/" + name + "' is an empty symbolic link");
      // The link's own components come before what was left of the path.
      auto inserted = components(link);
      pending.insert(pending.begin(), inserted.begin(), inserted.end());
      if (link.front() == '/') back_to_root();
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      UniqueFd next(::openat(dir, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!next.valid()) fail("cannot open '" + join(resolved) + "/" + name + "': " + std::strerror(errno));
      dirs.push_back(std::move(next));
      resolved.push_back(std::move(name));
      continue;
    }
    resolved.push_back(std::move(name));
    after_file = true;
  }
  if (resolved.empty()) fail("resolves to the container's root directory, which a volume cannot replace");
  return join(resolved);
}

}  // namespace lxe::reconcile
