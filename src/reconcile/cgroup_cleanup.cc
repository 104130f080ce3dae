#include "reconcile/cgroup_cleanup.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

namespace lxe::reconcile {
namespace {

namespace fs = std::filesystem;

// The instance's cgroup folders: the unified one, or one per v1 hierarchy that has it.
std::vector<fs::path> cgroup_dirs(const std::string& instance, const std::string& root) {
  const std::string name = "lxc.payload." + instance;
  std::vector<fs::path> out;
  std::error_code ec;
  if (fs::exists(fs::path(root) / name / "cgroup.procs", ec)) return {fs::path(root) / name};
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const fs::path dir = entry.path() / name;
    if (fs::exists(dir / "cgroup.procs", ec)) out.push_back(dir);
  }
  return out;
}

// Adds the processes one cgroup folder lists to `pids`.
void read_procs(const fs::path& dir, std::set<pid_t>& pids) {
  std::ifstream in(dir / "cgroup.procs");
  pid_t pid = 0;
  while (in >> pid)
    if (pid > 0) pids.insert(pid);
}

// The processes of `dirs` and of the cgroups nested in them (a workload may make its own).
std::set<pid_t> procs_of(const std::vector<fs::path>& dirs) {
  std::set<pid_t> pids;
  auto read = [&](const fs::path& dir) { read_procs(dir, pids); };
  for (const auto& dir : dirs) {
    read(dir);
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(dir, ec))
      if (entry.is_directory(ec)) read(entry.path());
  }
  return pids;
}

// SIGKILLs what `dirs` hold but `spare` until nothing else is left (or 50 rounds); how many
// signals went out.
int kill_procs(const std::vector<fs::path>& dirs, pid_t spare) {
  int killed = 0;
  // A process may fork while we kill: a few rounds, each after a short pause for the kernel to
  // take the killed ones out of the cgroup. A SIGKILLed process leaves it within a millisecond
  // (an lxe-init on its way out after a stop, say): the first look comes after 1 ms, later ones
  // after 5-20 ms.
  for (int round = 0; round < 50; ++round) {
    auto pids = procs_of(dirs);
    pids.erase(spare);
    if (pids.empty()) break;
    for (const pid_t pid : pids)
      if (::kill(pid, SIGKILL) == 0) ++killed;
    std::this_thread::sleep_for(std::chrono::milliseconds(round == 0 ? 1 : 5 * std::min(round, 4)));
  }
  return killed;
}

}  // namespace

std::optional<int> kill_cgroup_processes(const std::string& instance, pid_t spare, const std::string& cgroup_root) {
  const auto dirs = cgroup_dirs(instance, cgroup_root);
  if (dirs.empty()) return std::nullopt;
  return kill_procs(dirs, spare);
}

bool has_cgroup(const std::string& instance, const std::string& cgroup_root) {
  return !cgroup_dirs(instance, cgroup_root).empty();
}

std::optional<pid_t> cgroup_init_pid(const std::string& instance, const std::string& cgroup_root,
                                     const std::string& proc_root) {
  std::set<pid_t> pids;
  for (const auto& dir : cgroup_dirs(instance, cgroup_root)) read_procs(dir, pids);
  std::optional<pid_t> init;
  for (const pid_t pid : pids) {
    std::ifstream status(proc_root + "/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("NSpid:", 0) != 0) continue;
      std::istringstream fields(line.substr(6));
      std::vector<long> nspids;
      long n = 0;
      while (fields >> n) nspids.push_back(n);
      // PID 1 of a namespace nested in the host's (a single field is the host's own namespace).
      if (nspids.size() >= 2 && nspids.back() == 1) {
        if (init && *init != pid) return std::nullopt;
        init = pid;
      }
      break;
    }
  }
  return init;
}

int kill_cgroup_leftovers(const std::string& instance, const std::string& cgroup_root) {
  const auto dirs = cgroup_dirs(instance, cgroup_root);
  if (dirs.empty()) return 0;
  const int killed = kill_procs(dirs, 0);
  // The folders LXC left because they were busy (children first: v1 hierarchies may have nested
  // ones). A folder that still has processes stays.
  for (const auto& dir : dirs) {
    std::error_code ec;
    std::vector<fs::path> nested;
    for (const auto& entry : fs::recursive_directory_iterator(dir, ec))
      if (entry.is_directory(ec)) nested.push_back(entry.path());
    for (auto it = nested.rbegin(); it != nested.rend(); ++it) ::rmdir(it->c_str());
    ::rmdir(dir.c_str());
  }
  return killed;
}

}  // namespace lxe::reconcile
