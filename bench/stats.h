// Latency samples and the small text helpers of the report.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace lxe::bench {

using Clock = std::chrono::steady_clock;

inline double us_since(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}
inline double ms_since(Clock::time_point start) { return us_since(start) / 1000.0; }

class Samples {
 public:
  void add(double x) {
    values_.push_back(x);
    sorted_ = false;
  }
  void merge(const Samples& other) {
    values_.insert(values_.end(), other.values_.begin(), other.values_.end());
    sorted_ = false;
  }
  size_t size() const { return values_.size(); }
  bool empty() const { return values_.empty(); }

  // Nearest-rank percentile; NaN when empty.
  double pct(double p) const {
    if (values_.empty()) return std::numeric_limits<double>::quiet_NaN();
    sort();
    const size_t n = values_.size();
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(n)));
    rank = std::clamp<size_t>(rank, 1, n);
    return values_[rank - 1];
  }
  double median() const { return pct(50); }
  double max() const { return values_.empty() ? std::numeric_limits<double>::quiet_NaN() : pct(100); }

 private:
  void sort() const {
    if (!sorted_) std::sort(values_.begin(), values_.end());
    sorted_ = true;
  }
  mutable std::vector<double> values_;
  mutable bool sorted_ = true;
};

// "12.3", or "–" for NaN.
inline std::string num(double x, int decimals = 1) {
  if (std::isnan(x)) return "–";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

// "1.23×", or "–".
inline std::string ratio(double a, double b) {
  if (std::isnan(a) || std::isnan(b) || b <= 0) return "–";
  return num(a / b, 2) + "×";
}

}  // namespace lxe::bench
