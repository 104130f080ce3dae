// Test hook for crash-recovery tests: named points inside lifecycle operations where lxe kills
// itself (SIGKILL, no cleanup), as a crash or an OOM kill would. Off unless the environment
// variable LXE_CRASH_AT names points (comma-separated), read once at start; docs/recovery.md lists
// the points. An empty CrashPoints does nothing.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace lxe {

class CrashPoints {
 public:
  CrashPoints() = default;
  explicit CrashPoints(const std::set<std::string>& armed) : armed_(armed.begin(), armed.end()) {}

  // From LXE_CRASH_AT, e.g. "after:create-instance,store-written:StartContainer".
  static CrashPoints from_environment();

  // Kills this process with SIGKILL when `point` is armed; returns otherwise.
  void hit(std::string_view point) const;

  bool empty() const { return armed_.empty(); }

 private:
  std::set<std::string, std::less<>> armed_;

};

}  // namespace lxe
