#include "ctl/render.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "common/time.h"

namespace lxe::ctl {
namespace {

const char* ansi(Color color) {
  switch (color) {
    case Color::None: return "";
    case Color::Bold: return "\033[1m";
    case Color::Green: return "\033[32m";
    case Color::Yellow: return "\033[33m";
    case Color::Red: return "\033[31m";
    case Color::Cyan: return "\033[36m";
    case Color::Dim: return "\033[2m";
  }
  return "";
}

// Whether `key` may be written without quotes and still read back as that string under YAML 1.1
// and 1.2 alike: a letter first, then letters, digits and _ - . /, and not one of the words YAML
// reads as a boolean or null. yaml-cpp itself quotes only what would not parse (it writes keys such
// as 123, yes and << plain, which other readers take for a number, a boolean and a merge key).
bool plain_key(const std::string& key) {
  if (key.empty() || !std::isalpha(static_cast<unsigned char>(key[0]))) return false;
  if (!std::all_of(key.begin(), key.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '/';
      }))
    return false;
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* word : {"y", "n", "yes", "no", "true", "false", "on", "off", "null"})
    if (lower == word) return false;
  return true;
}

// Writes `v` into `out`. Strings are double-quoted, so that no value can read back as a number, a
// boolean or null; numbers are written as JSON writes them (the shortest text that reads back
// exactly, where yaml-cpp would write 0.1 as 0.10000000000000001); empty objects and arrays are
// written {} and [] on their key's line.
void emit_yaml(const nlohmann::json& v, YAML::Emitter& out) {
  switch (v.type()) {
    case nlohmann::json::value_t::object:
      if (v.empty()) out << YAML::Flow;
      out << YAML::BeginMap;
      for (const auto& [key, value] : v.items()) {
        out << YAML::Key;
        if (!plain_key(key)) out << YAML::DoubleQuoted;
        out << key << YAML::Value;
        emit_yaml(value, out);
      }
      out << YAML::EndMap;
      break;
    case nlohmann::json::value_t::array:
      if (v.empty()) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const auto& item : v) emit_yaml(item, out);
      out << YAML::EndSeq;
      break;
    case nlohmann::json::value_t::string:
      out << YAML::DoubleQuoted << v.get_ref<const std::string&>();
      break;
    case nlohmann::json::value_t::null:
      out << YAML::Null;
      break;
    default:  // booleans and numbers: JSON's spelling is YAML's
      out << v.dump();
  }
}

}  // namespace

std::string colorize(const std::string& text, Color color, bool enabled) {
  if (!enabled || color == Color::None || text.empty()) return text;
  return std::string(ansi(color)) + text + "\033[0m";
}

size_t display_width(const std::string& text) {
  size_t n = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string Table::render(bool color) const {
  std::vector<size_t> widths(headers_.size(), 0);
  for (size_t i = 0; i < headers_.size(); ++i) widths[i] = display_width(headers_[i]);
  for (const auto& row : rows_)
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], display_width(row[i].text));
  std::string out;
  auto line = [&](const std::vector<Cell>& cells) {
    std::string text;
    for (size_t i = 0; i < headers_.size(); ++i) {
      const Cell cell = i < cells.size() ? cells[i] : Cell{};
      text += colorize(cell.text, cell.color, color);
      if (i + 1 < headers_.size()) text += std::string(widths[i] - display_width(cell.text) + 3, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + "\n";
  };
  std::vector<Cell> header;
  for (const auto& h : headers_) header.push_back({h, Color::Bold});
  line(header);
  for (const auto& row : rows_) line(row);
  return out;
}

std::string render_key_values(const std::vector<std::pair<std::string, Cell>>& entries, bool color) {
  size_t width = 0;
  for (const auto& [key, _] : entries) width = std::max(width, display_width(key));
  std::string out;
  for (const auto& [key, cell] : entries) {
    const std::string pad(width - display_width(key) + 3, ' ');
    std::string value = cell.text.empty() ? "-" : cell.text;
    // Indent continuation lines under the value column.
    std::string indented;
    const std::string indent(width + 3, ' ');
    size_t start = 0;
    while (true) {
      const size_t nl = value.find('\n', start);
      const std::string piece = value.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      indented += (start == 0 ? "" : "\n" + indent) + piece;
      if (nl == std::string::npos || nl + 1 >= value.size()) break;
      start = nl + 1;
    }
    out += colorize(key, Color::Bold, color) + pad + colorize(indented, cell.color, color) + "\n";
  }
  return out;
}

std::string to_yaml(const nlohmann::json& value) {
  YAML::Emitter out;
  out.SetNullFormat(YAML::LowerNull);
  emit_yaml(value, out);
  if (!out.good()) throw std::runtime_error("YAML output: " + out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

std::string human_age(int64_t then_ns, int64_t now_ns) {
  if (then_ns == 0) return "-";
  const int64_t s = std::max<int64_t>(0, (now_ns - then_ns) / 1'000'000'000);
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

nlohmann::json time_json(int64_t ns) {
  if (ns == 0) return nullptr;
  return format_rfc3339_nano(ns);
}

std::string short_time(int64_t ns) {
  if (ns == 0) return "-";
  const std::string full = format_rfc3339_nano(ns);  // ...:SS.nnnnnnnnnZ
  return full.substr(0, full.size() - 7) + "Z";
}

std::string one_line(const std::string& text, size_t max) {
  std::string s;
  s.reserve(text.size());
  for (char c : text) s.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  if (display_width(s) <= max) return s;
  // Cut at a code point boundary.
  size_t points = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (points == max - 3) break;
      ++points;
    }
  }
  return s.substr(0, i) + "...";
}

std::string cores_text(uint64_t nano_cores) {
  const uint64_t hundredths = (nano_cores + 5'000'000) / 10'000'000;
  const std::string cents = std::to_string(hundredths % 100);
  return std::to_string(hundredths / 100) + "." + (cents.size() < 2 ? "0" : "") + cents;
}

std::string bytes_text(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes);
  static const char* const units[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  double value = static_cast<double>(bytes) / 1024;
  for (size_t i = 0;; ++i) {
    const bool last = i + 1 == std::size(units);
    // Rounded as shown; 1023.96Ki would show as 1024Ki, so it is 1.0Mi instead.
    const bool decimal = std::round(value * 10) / 10 < 10;
    const double shown = decimal ? std::round(value * 10) / 10 : std::round(value);
    if (shown < 1024 || last) {
      char text[32];
      std::snprintf(text, sizeof text, decimal ? "%.1f%s" : "%.0f%s", shown, units[i]);
      return text;
    }
    value /= 1024;
  }
}

std::string cpu_time_text(uint64_t ns) {
  const uint64_t tenths = (ns + 50'000'000) / 100'000'000;
  if (tenths < 600) return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + "s";
  const uint64_t s = (ns + 500'000'000) / 1'000'000'000;
  auto two = [](uint64_t n) { return (n < 10 ? "0" : "") + std::to_string(n); };
  if (s < 3600) return std::to_string(s / 60) + "m" + two(s % 60) + "s";
  if (s < 86400) return std::to_string(s / 3600) + "h" + two(s / 60 % 60) + "m";
  return std::to_string(s / 86400) + "d" + two(s / 3600 % 24) + "h";
}

std::string short_id(const std::string& id) { return id.substr(0, 13); }

}  // namespace lxe::ctl
