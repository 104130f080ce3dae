#include "common/crash_points.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace lxe {

CrashPoints CrashPoints::from_environment() {
  const char* value = std::getenv("LXE_CRASH_AT");
  if (!value || !*value) return {};
  std::set<std::string> points;
  std::istringstream in(value);
  std::string point;
  while (std::getline(in, point, ','))
    if (!point.empty()) points.insert(point);
  return CrashPoints(points);
}

void CrashPoints::hit(std::string_view point) const {
  if (armed_.empty() || armed_.find(point) == armed_.end()) return;
  std::fprintf(stderr, "lxe: crash point %.*s: killing myself\n", static_cast<int>(point.size()), point.data());
  std::fflush(stderr);
  ::kill(::getpid(), SIGKILL);
  ::pause();
}

}  // namespace lxe
