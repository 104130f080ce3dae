#include "common/time.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace lxe {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_rfc3339_nano(int64_t ns) {
  const std::time_t seconds = static_cast<std::time_t>(ns / 1'000'000'000);
  const long fraction = static_cast<long>(ns % 1'000'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof buf - n, ".%09ldZ", fraction);
  return buf;
}

}  // namespace lxe
