// Work spread over a few threads, for populating the node and cleaning it up.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "interrupts.h"

namespace lxe::bench {

// Runs fn(i, worker) for i in [0, n) on min(workers, n) threads; `worker` (0 .. workers-1) says
// which thread runs the item, for per-thread clients. An exception fails only its item: the
// result is one line per failed item. After an interrupt no new item is taken, unless
// `interrupts` is null (clean-up must finish).
std::vector<std::string> parallel_for(size_t n, size_t workers, const std::function<void(size_t, size_t)>& fn,
                                      const Interrupts* interrupts);

// Throws Interrupted after an interrupt, else std::runtime_error naming the first of `errors`.
void throw_if_errors(const std::vector<std::string>& errors, const std::string& what, const Interrupts& interrupts);

}  // namespace lxe::bench
