#include "model/naming.h"

#include <algorithm>
#include <cctype>
#include <random>

namespace lxe::model {

std::string sanitize_name_part(std::string_view text, size_t max) {
  std::string out;
  for (const char raw : text) {
    if (out.size() >= max) break;
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(raw)));
    const bool letter = c >= 'a' && c <= 'z';
    const bool digit = c >= '0' && c <= '9';
    if (letter || (digit && !out.empty())) {
      out.push_back(c);
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

namespace {

std::string join_name(std::string_view prefix, std::initializer_list<std::string> parts) {
  std::string name(prefix);
  for (const auto& p : parts)
    if (!p.empty()) name += "-" + p;
  return name;
}

// LXD's limit on instance and profile names, and the characters the ID part takes ("-" + 12).
constexpr size_t kMaxName = 63;
constexpr size_t kIdPart = 13;

// What is left for the readable parts after the prefix, the ID and `parts` joining hyphens.
size_t name_budget(std::string_view prefix, size_t parts) {
  const size_t used = prefix.size() + kIdPart + parts;
  return used >= kMaxName ? 0 : kMaxName - used;
}

}  // namespace

std::string sandbox_lxd_name(std::string_view prefix, std::string_view pod_name, std::string_view sandbox_id) {
  // With a long prefix (up to 20 characters) the pod name gets less than its usual 40.
  const size_t pod_max = std::min<size_t>(40, name_budget(prefix, 1));
  return join_name(prefix, {sanitize_name_part(pod_name, pod_max), std::string(sandbox_id.substr(0, 12))});
}

std::string container_lxd_name(std::string_view prefix, std::string_view pod_name, std::string_view container_name,
                               std::string_view container_id) {
  const size_t each_max = std::min<size_t>(20, name_budget(prefix, 2) / 2);
  return join_name(prefix, {sanitize_name_part(pod_name, each_max), sanitize_name_part(container_name, each_max),
                            std::string(container_id.substr(0, 12))});
}

std::string ready_instance_name(std::string_view prefix) {
  return std::string(prefix) + "--ready-" + new_id().substr(0, 12);
}

bool is_ready_instance_name(std::string_view prefix, std::string_view name) {
  const std::string head = std::string(prefix) + "--ready-";
  return name.size() > head.size() && name.substr(0, head.size()) == head;
}

bool valid_lxd_name_prefix(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > 20 || !(prefix.front() >= 'a' && prefix.front() <= 'z') || prefix.back() == '-')
    return false;
  for (const char c : prefix)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

bool valid_lxd_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (name.front() == '-' || name.back() == '-' || std::isdigit(static_cast<unsigned char>(name.front())))
    return false;
  for (const char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

std::string new_id() {
  // A fresh random_device per ID: no shared generator state between threads.
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(64);
  for (int i = 0; i < 8; ++i) {
    uint32_t word = rd();
    for (int j = 0; j < 8; ++j) {
      id.push_back(kHex[word & 0xf]);
      word >>= 4;
    }
  }
  return id;
}

}  // namespace lxe::model
