#include "lxd_sweep.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "common/defaults.h"
#include "options.h"
#include "parallel.h"
#include "progress.h"

namespace lxe::bench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool is_bench_name(const std::string& name) {
  static const std::regex re("lxebench-[0-9a-f]{6}-.*");
  return std::regex_match(name, re);
}

// Whether `pid` is a live lxe-bench (a PID reused by another program counts as dead).
bool bench_process_alive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  std::getline(in, comm);
  return comm == "lxe-bench";
}

// Force-stops and deletes `instances`, then deletes `profiles`. Returns how many it deleted;
// `failed` counts the objects it could not delete.
int delete_objects(const lxd::Client& lxd, const std::vector<std::string>& instances,
                   const std::vector<std::string>& profiles, int* failed = nullptr) {
  std::atomic<int> deleted{0}, failures{0};
  parallel_for(
      instances.size(), 8,
      [&](size_t i, size_t) {
        try {
          lxd.stop_instance(instances[i], lxd::StopMode::Force);
        } catch (const lxd::Error&) {
        }
        // An instance LXD is still tearing down (lxe answers removals before LXD's deletes, and
        // a stop of a dying instance may be under way) refuses the delete for about a second:
        // "busy running a stop operation", or "is running" before LXD noticed. Retried.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        while (true) {
          try {
            lxd.delete_instance(instances[i]);
            ++deleted;
            break;
          } catch (const lxd::Error& e) {
            if (e.kind() == lxd::ErrorKind::NotFound) break;
            const bool tearing_down = e.kind() == lxd::ErrorKind::Busy ||
                                      std::string_view(e.what()).find("is running") != std::string_view::npos;
            if (!tearing_down || std::chrono::steady_clock::now() >= deadline) {
              note("sweep: deleting instance %s: %s", instances[i].c_str(), e.what());
              ++failures;
              break;
            }
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      },
      nullptr);
  for (const auto& name : profiles) {
    try {
      lxd.delete_profile(name);
      ++deleted;
    } catch (const lxd::Error& e) {
      if (e.kind() != lxd::ErrorKind::NotFound) {
        note("sweep: deleting profile %s: %s", name.c_str(), e.what());
        ++failures;
      }
    }
  }
  if (failed) *failed = failures.load();
  return deleted.load();
}

}  // namespace

bool has_prefix(const std::string& name, const std::string& prefix) { return name.rfind(prefix + "-", 0) == 0; }

std::vector<std::string> instances_with_prefix(const lxd::Client& lxd, const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& instance : lxd.list_instances())
    if (has_prefix(instance.name, prefix)) names.push_back(instance.name);
  return names;
}

Owner owner_of(const lxd::Config& config) {
  const auto it = config.find(kMarkKey);
  if (it == config.end()) return Owner::Unmarked;
  if (it->second.empty() || it->second.find_first_not_of("0123456789") != std::string::npos || it->second.size() > 9)
    return Owner::Foreign;
  const pid_t pid = static_cast<pid_t>(std::stol(it->second));
  if (pid == getpid()) return Owner::Ours;
  return bench_process_alive(pid) ? Owner::Alive : Owner::Dead;
}

int sweep(const lxd::Client& lxd, const std::string& prefix) {
  if (!valid_bench_prefix(prefix)) throw std::runtime_error("refusing to sweep prefix '" + prefix + "'");
  std::vector<std::string> instances, profiles;
  int alive = 0;
  auto sort = [&](const std::string& name, const lxd::Config& config, std::vector<std::string>& into) {
    if (!has_prefix(name, prefix)) return;
    const Owner o = owner_of(config);
    if (o == Owner::Alive || o == Owner::Foreign) ++alive;
    else into.push_back(name);
  };
  for (const auto& instance : lxd.list_instances()) sort(instance.name, instance.config, instances);
  for (const auto& profile : lxd.list_profiles()) sort(profile.name, profile.config, profiles);
  if (alive > 0) note("sweep: %d object(s) under %s belong to a running lxe-bench: left alone", alive, prefix.c_str());
  return delete_objects(lxd, instances, profiles);
}

StaleSweep sweep_stale(const lxd::Client& lxd, const std::string& scratch_parent) {
  StaleSweep out;
  std::vector<std::string> instances, profiles;
  auto sort = [&](const std::string& name, const lxd::Config& config, std::vector<std::string>& into) {
    if (!is_bench_name(name)) return;
    const Owner o = owner_of(config);
    if (o == Owner::Dead) into.push_back(name);
    if (o == Owner::Unmarked) ++out.unmarked;
  };
  for (const auto& instance : lxd.list_instances()) sort(instance.name, instance.config, instances);
  for (const auto& profile : lxd.list_profiles()) sort(profile.name, profile.config, profiles);
  out.deleted = delete_objects(lxd, instances, profiles, &out.failed);
  if (out.failed > 0) return out;  // their scratch directories may still be in use
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(scratch_parent, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("lxe-bench-", 0) != 0 || !entry.is_directory()) continue;
    std::ifstream in(entry.path() / "bench.pid");
    pid_t pid = 0;
    if (!(in >> pid) || pid == getpid() || bench_process_alive(pid)) continue;
    std::error_code rm;
    fs::remove_all(entry.path(), rm);
    if (!rm) ++out.dirs;
  }
  return out;
}

std::map<std::string, int64_t> init_pids(const lxd::Client& lxd, const std::vector<std::string>& names) {
  std::map<std::string, int64_t> pids;
  std::mutex mutex;
  parallel_for(
      names.size(), 8,
      [&](size_t i, size_t) {
        int64_t pid = 0;
        try {
          pid = lxd.get_instance_state(names[i]).pid;
        } catch (const lxd::Error& e) {
          if (e.kind() != lxd::ErrorKind::NotFound) {
            note("/state of %s: %s", names[i].c_str(), e.what());
            pid = -1;
          }
        }
        std::lock_guard lock(mutex);
        pids[names[i]] = pid;
      },
      nullptr);
  return pids;
}

std::string find_lxd_socket(const std::string& given) {
  const auto deadline = Clock::now() + 60s;
  while (true) {
    if (!given.empty() && fs::exists(given)) return given;
    if (given.empty())
      if (std::string found = lxe::find_lxd_socket(); !found.empty()) return found;
    if (Clock::now() > deadline)
      throw std::runtime_error(given.empty() ? "no LXD socket found; give --lxd-socket" : "no LXD socket at " + given);
    std::this_thread::sleep_for(500ms);
  }
}

}  // namespace lxe::bench
