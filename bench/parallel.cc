#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace lxe::bench {

std::vector<std::string> parallel_for(size_t n, size_t workers, const std::function<void(size_t, size_t)>& fn,
                                      const Interrupts* interrupts) {
  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::vector<std::string> errors;
  std::vector<std::thread> pool;
  for (size_t w = 0; w < std::min(workers, n); ++w) {
    pool.emplace_back([&, w] {
      while (true) {
        if (interrupts && interrupts->requested()) return;
        const size_t i = next++;
        if (i >= n) return;
        try {
          fn(i, w);
        } catch (const std::exception& e) {
          std::lock_guard lock(mutex);
          errors.push_back("#" + std::to_string(i) + ": " + e.what());
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  return errors;
}

void throw_if_errors(const std::vector<std::string>& errors, const std::string& what, const Interrupts& interrupts) {
  interrupts.check();
  if (errors.empty()) return;
  throw std::runtime_error(what + ": " + std::to_string(errors.size()) + " failure(s): " + errors.front());
}

}  // namespace lxe::bench
