#include "progress.h"

namespace lxe::bench {

Clock::time_point bench_start() {
  static const Clock::time_point start = Clock::now();  // set once, never changed
  return start;
}

void note_line(const char* text) {
  // One fprintf per line, so that lines of concurrent threads do not interleave.
  std::fprintf(stderr, "[bench %6.1fs] %s\n", ms_since(bench_start()) / 1000.0, text);
}

}  // namespace lxe::bench
