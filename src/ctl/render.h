// Rendering for lxe-ctl: aligned tables (with optional colour), YAML (yaml-cpp) for JSON, and the
// small text helpers (ages, truncation) the views share. No I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lxe::ctl {

enum class Color { None, Bold, Green, Yellow, Red, Cyan, Dim };

struct Cell {
  std::string text;
  Color color = Color::None;
};

// Columns separated by three spaces, left-aligned, no trailing blanks. Widths count UTF-8 code
// points, so colour codes (added after padding) never shift a column.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<Cell> row) { rows_.push_back(std::move(row)); }
  size_t size() const { return rows_.size(); }
  std::string render(bool color) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<Cell>> rows_;
};

std::string colorize(const std::string& text, Color color, bool enabled);

// Aligned "key   value" lines; the values of multi-line entries are indented under their key.
std::string render_key_values(const std::vector<std::pair<std::string, Cell>>& entries, bool color);

// A YAML document for `value` (objects, arrays, scalars), ending in a newline: the same data as
// the JSON. Strings are always double-quoted, so no value can be mistaken for another type.
std::string to_yaml(const nlohmann::json& value);

// 42s, 3m, 5h, 12d: how long ago `then_ns` was at `now_ns`. "-" when then_ns is 0.
std::string human_age(int64_t then_ns, int64_t now_ns);

// RFC 3339 with nanoseconds in UTC; null for 0 ("not yet").
nlohmann::json time_json(int64_t ns);
// RFC 3339 to the millisecond for tables: 2024-05-01T12:00:00.123Z; "-" for 0.
std::string short_time(int64_t ns);

// One line of at most `max` code points: newlines become spaces, an overlong text ends in "...".
std::string one_line(const std::string& text, size_t max);

// CPU use in cores with two decimals, as a share of one core: 980000000 ns per s -> "0.98".
std::string cores_text(uint64_t nano_cores);
// Bytes in Kubernetes' binary units, as kubectl top shows memory: "0", "512", "312Ki", "3.4Mi",
// "123Mi", "1.5Gi". One decimal below 10 of a unit, none from 10 up.
std::string bytes_text(uint64_t bytes);
// A CPU time: "0.4s", "12.3s", "5m12s", "3h04m", "2d05h".
std::string cpu_time_text(uint64_t ns);

// The first 13 characters of an ID, as crictl shows them.
std::string short_id(const std::string& id);

// Number of UTF-8 code points.
size_t display_width(const std::string& text);

}  // namespace lxe::ctl
