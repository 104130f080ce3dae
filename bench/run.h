// One run of lxe-bench: the set-up, the sections in order, the clean-up, the report.
#pragma once

#include "interrupts.h"
#include "options.h"

namespace lxe::bench {

// Prints the report to stdout (and to --out); progress goes to stderr. Returns the exit code:
// 0, 1 when the run failed (the report says where), 130 when interrupted.
int run_bench(const Options& options, const Interrupts& interrupts);

// --sweep-only: the leftovers of killed runs, or everything under --prefix. Returns the exit code.
int sweep_only(const Options& options);

}  // namespace lxe::bench
