#include "init/child.h"

#include <grp.h>
#include <unistd.h>

#include <cerrno>

#include "init/sys.h"

namespace lxe::init {

std::vector<std::string> exec_candidates(const std::string& program, const std::string& search_path) {
  if (program.find('/') != std::string::npos) return {program};
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t colon = search_path.find(':', start);
    const std::string dir =
        search_path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    out.push_back(dir.empty() ? program : dir + "/" + program);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

namespace {

std::optional<std::string> switch_identity(const Spec& spec) {
  if (!spec.uid && !spec.gid) return std::nullopt;
  // Root's supplementary groups must not leak to the workload. Only root may set them; run
  // unprivileged (tests), we have no root groups to drop.
  if (::geteuid() == 0) {
    const gid_t gid = spec.gid.value_or(0);
    if (::setgroups(spec.gid ? 1 : 0, &gid) != 0) return "cannot drop supplementary groups: " + errno_text(errno);
  }
  if (spec.gid && ::setgid(*spec.gid) != 0)
    return "cannot switch to gid " + std::to_string(*spec.gid) + ": " + errno_text(errno);
  if (spec.uid && ::setuid(*spec.uid) != 0)
    return "cannot switch to uid " + std::to_string(*spec.uid) + ": " + errno_text(errno);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> enter_identity_and_cwd(const Spec& spec) {
  const bool in_cwd = ::chdir(spec.cwd.c_str()) == 0;
  if (auto error = switch_identity(spec)) return error;
  if (!in_cwd && ::chdir(spec.cwd.c_str()) != 0)
    return "cannot change to directory " + spec.cwd + ": " + errno_text(errno);
  return std::nullopt;
}

int exec_first(const std::vector<std::string>& candidates, char* const argv[], char* const envp[]) {
  int error = ENOENT;
  for (const auto& path : candidates) {
    ::execve(path.c_str(), argv, envp);
    if (errno == EACCES) {
      error = EACCES;
    } else if (errno != ENOENT && errno != ENOTDIR) {
      return errno;
    }
  }
  return error;
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace lxe::init
