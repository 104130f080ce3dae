#include "ctl/render.h"

#include <algorithm>
#include <cctype>

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

// Plain YAML keys: letters, digits and a few punctuation marks, not starting with one that YAML
// gives a meaning. Anything else is quoted.
bool plain_key(const std::string& key) {
  if (key.empty()) return false;
  const unsigned char first = static_cast<unsigned char>(key[0]);
  if (!std::isalnum(first) && first != '_') return false;
  return std::all_of(key.begin(), key.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '/';
  });
}

std::string yaml_key(const std::string& key) { return plain_key(key) ? key : nlohmann::json(key).dump(); }

bool is_scalar_or_empty(const nlohmann::json& v) {
  return !(v.is_object() || v.is_array()) || v.empty();
}

std::string yaml_scalar(const nlohmann::json& v) {
  if (v.is_object()) return "{}";
  if (v.is_array()) return "[]";
  if (v.is_null()) return "null";
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void emit_yaml(const nlohmann::json& v, int indent, std::string& out);

void emit_yaml_entry_value(const nlohmann::json& v, int indent, std::string& out) {
  if (is_scalar_or_empty(v)) {
    out += " " + yaml_scalar(v) + "\n";
  } else {
    out += "\n";
    emit_yaml(v, indent + 2, out);
  }
}

void emit_yaml(const nlohmann::json& v, int indent, std::string& out) {
  const std::string pad(indent, ' ');
  if (v.is_object() && !v.empty()) {
    for (const auto& [key, value] : v.items()) {
      out += pad + yaml_key(key) + ":";
      emit_yaml_entry_value(value, indent, out);
    }
  } else if (v.is_array() && !v.empty()) {
    for (const auto& item : v) {
      if (is_scalar_or_empty(item)) {
        out += pad + "- " + yaml_scalar(item) + "\n";
      } else {
        // The item's first line follows the dash; the rest is indented under it.
        std::string nested;
        emit_yaml(item, indent + 2, nested);
        out += pad + "- " + nested.substr(indent + 2);
      }
    }
  } else {
    out += pad + yaml_scalar(v) + "\n";
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
  std::string out;
  emit_yaml(value, 0, out);
  return out;
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

std::string short_id(const std::string& id) { return id.substr(0, 13); }

}  // namespace lxe::ctl
