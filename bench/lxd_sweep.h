// The bench's LXD objects: how they are marked, how a run removes its own, how a later run removes
// those of a killed run, and the init PIDs the recovery section compares.
//
// Every object of a run is named <prefix>-... (prefix lxebench-<6 hex>) and carries
// user.lxe.test-pid=<PID of its lxe-bench>: lxe sets it through LXE_TEST_MARK, the raw-LXD side of
// the lifecycle section through the same mapping options. Nothing else in LXD is ever touched.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lxd/client.h"

namespace lxe::bench {

inline constexpr const char* kMarkKey = "user.lxe.test-pid";

// Whether `name` is <prefix>-...
bool has_prefix(const std::string& name, const std::string& prefix);

std::vector<std::string> instances_with_prefix(const lxd::Client& lxd, const std::string& prefix);

// Who made an object, from its mark: none, this process, a dead or a live lxe-bench, or a mark
// that is not a PID. A PID reused by a program other than lxe-bench counts as dead.
enum class Owner { Unmarked, Ours, Dead, Alive, Foreign };
Owner owner_of(const lxd::Config& config);

// Deletes every instance (force-stopped first), then every profile, named <prefix>-..., except
// those marked by another lxe-bench that is still running. Returns how many it deleted. Throws
// std::runtime_error for a prefix that is not lxebench-<6 hex>.
int sweep(const lxd::Client& lxd, const std::string& prefix);

struct StaleSweep {
  int deleted = 0;   // LXD objects
  int failed = 0;    // LXD objects it could not delete
  int unmarked = 0;  // lxebench- objects without a mark: left alone
  int dirs = 0;      // scratch directories deleted
};

// The leftovers of killed runs: objects named lxebench-<6 hex>-... whose mark names a process that
// is not a live lxe-bench, and then (when every such object is gone) the scratch directories
// <scratch_parent>/lxe-bench-* of such runs, known by the PID in their bench.pid.
StaleSweep sweep_stale(const lxd::Client& lxd, const std::string& scratch_parent = "/tmp");

// The init PIDs (LXD's /state, 100-170 ms each, 8 at a time) of `names`: 0 for an instance that
// is not running or not there, -1 when LXD did not tell. (A list with recursion=2 asks LXD for
// every state at once; at 200 running instances it did not answer within 30 s on a loaded 2-core
// machine.)
std::map<std::string, int64_t> init_pids(const lxd::Client& lxd, const std::vector<std::string>& names);

// The LXD socket: `given`, or the first of the usual two that exists. Waits up to 60 s for one to
// appear (LXD may be restarting); then throws std::runtime_error.
std::string find_lxd_socket(const std::string& given);

}  // namespace lxe::bench
