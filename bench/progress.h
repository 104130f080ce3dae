// Progress lines on stderr ("[bench   12.3s] ..."): the report goes to stdout, this never does.
#pragma once

#include <cstdio>

#include "stats.h"

namespace lxe::bench {

// When this process started counting (the first call fixes it; main calls it first).
Clock::time_point bench_start();

void note_line(const char* text);

template <typename... Args>
void note(const char* format, Args... args) {
  if constexpr (sizeof...(Args) == 0) {
    note_line(format);
  } else {
    char buf[4096];
    std::snprintf(buf, sizeof buf, format, args...);
    note_line(buf);
  }
}

}  // namespace lxe::bench
