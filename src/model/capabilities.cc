#include "model/capabilities.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <set>

namespace lxe::model {
namespace {

// linux/capability.h, by number.
constexpr std::array<const char*, kLastKnownCapability + 1> kNames = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool is_all(std::string_view name) { return upper(name) == "ALL"; }

}  // namespace

std::string capability_name(int number) {
  if (number < 0 || number > kLastKnownCapability) return "";
  return kNames[static_cast<size_t>(number)];
}

std::optional<int> capability_number(std::string_view name) {
  std::string wanted = upper(name);
  if (wanted.rfind("CAP_", 0) != 0) wanted = "CAP_" + wanted;
  for (size_t i = 0; i < kNames.size(); ++i)
    if (wanted == kNames[i]) return static_cast<int>(i);
  return std::nullopt;
}

std::vector<int> default_capabilities() {
  std::vector<int> out;
  for (const char* name : {"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
                           "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"})
    out.push_back(*capability_number(name));
  std::sort(out.begin(), out.end());
  return out;
}

int host_last_capability() {
  static const int last = [] {
    std::ifstream in("/proc/sys/kernel/cap_last_cap");
    int value = -1;
    if (!(in >> value) || value < 0) return kLastKnownCapability;
    return std::min(value, kLastKnownCapability);
  }();
  return last;
}

std::variant<std::vector<int>, std::string> container_capabilities(const std::vector<std::string>& add,
                                                                   const std::vector<std::string>& drop,
                                                                   bool privileged, int last_cap) {
  last_cap = std::min(last_cap, kLastKnownCapability);
  // Every name is checked, also where it does not count (privileged): a typo is a mistake to
  // report, not a setting to ignore.
  for (const auto& [list, names] : {std::pair{"add_capabilities", &add}, std::pair{"drop_capabilities", &drop}}) {
    for (const auto& name : *names) {
      if (is_all(name) || capability_number(name)) continue;
      return std::string("capabilities.") + list + " has '" + name +
             "', which is not a Linux capability (names as in capabilities(7), with or without CAP_, or ALL)";
    }
  }
  std::set<int> caps;
  const auto every = [&] {
    for (int i = 0; i <= last_cap; ++i) caps.insert(i);
  };
  if (privileged) {
    every();
  } else {
    for (int c : default_capabilities()) caps.insert(c);
    if (std::any_of(add.begin(), add.end(), is_all)) every();
    if (std::any_of(drop.begin(), drop.end(), is_all)) caps.clear();
    for (const auto& name : add)
      if (!is_all(name)) caps.insert(*capability_number(name));
    for (const auto& name : drop)
      if (!is_all(name)) caps.erase(*capability_number(name));
  }
  std::vector<int> out;
  for (int c : caps)
    if (c <= last_cap) out.push_back(c);
  return out;
}

std::vector<std::string> capability_names(const std::vector<int>& numbers) {
  std::vector<std::string> out;
  for (int n : numbers) out.push_back(capability_name(n));
  return out;
}

}  // namespace lxe::model
