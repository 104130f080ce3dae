#include "model/process_groups.h"

#include <algorithm>
#include <charconv>
#include <string>

namespace lxe::model {
namespace {

// The colon-separated fields of one line.
std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t colon = line.find(':', start);
    out.push_back(line.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    if (colon == std::string_view::npos) return out;
    start = colon + 1;
  }
}

template <typename Each>
void for_each_line(std::string_view text, Each&& each) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line[0] != '#') each(fields_of(line));
    start = end + 1;
  }
}

bool parse_id(std::string_view text, uint32_t& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::vector<uint32_t> process_groups(uint32_t uid, uint32_t gid, const std::vector<uint32_t>& supplemental, bool merge,
                                     std::string_view passwd_file, std::string_view group_file) {
  std::vector<uint32_t> out;
  const auto add = [&](uint32_t g) {
    if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
  };
  add(gid);
  if (merge) {
    // name:password:uid:gid:gecos:home:shell; the first entry for the uid is the user, as getpwuid.
    std::string user;
    bool found = false;
    for_each_line(passwd_file, [&](const std::vector<std::string_view>& f) {
      uint32_t id = 0;
      if (found || f.size() < 4 || f[0].empty() || !parse_id(f[2], id) || id != uid) return;
      user = f[0];
      found = true;
    });
    // name:password:gid:member,member,...
    if (found) {
      for_each_line(group_file, [&](const std::vector<std::string_view>& f) {
        uint32_t id = 0;
        if (f.size() < 4 || !parse_id(f[2], id)) return;
        std::string_view members = f[3];
        while (!members.empty()) {
          const size_t comma = members.find(',');
          const std::string_view member = members.substr(0, comma);
          if (member == user) {
            add(id);
            break;
          }
          if (comma == std::string_view::npos) break;
          members.remove_prefix(comma + 1);
        }
      });
    }
  }
  for (uint32_t g : supplemental) add(g);
  return out;
}

}  // namespace lxe::model
