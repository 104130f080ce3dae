#include "invariants.h"

#include <arpa/inet.h>

#include <algorithm>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

namespace lxe::fuzz {

namespace {

// A value as a violation message shows it: control characters spelled out, long values cut.
std::string shown(std::string_view value) {
  std::string out = "'";
  for (const char ch : value.substr(0, 80)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += ch;
    }
  }
  return out + (value.size() > 80 ? "...'" : "'");
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// A positive decimal integer that fits an int64, written without leading zeros.
bool is_positive_integer(std::string_view s) {
  constexpr std::string_view kMax = "9223372036854775807";
  return all_digits(s) && s.front() != '0' && (s.size() < kMax.size() || (s.size() == kMax.size() && s <= kMax));
}

// A CPU number for is_cpuset: digits only (LXD's ParseInt takes leading zeros), below kMaxCpus.
bool cpu_number(std::string_view s, int64_t& out) {
  if (!all_digits(s)) return false;
  out = 0;
  for (const char c : s) {
    out = out * 10 + (c - '0');
    if (out >= kMaxCpus) return false;
  }
  return true;
}

bool is_hex_id(std::string_view id) {
  return id.size() == 64 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// Where a device's path ends up in the container, as the kernel resolves it ("/a/../b/" is "/b").
std::string normal_path(const std::string& path) {
  std::string p = std::filesystem::path(path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

void check_plain_string(Violations& out, const std::string& what, std::string_view value) {
  if (has_control_character(value)) out.push_back(what + " " + shown(value) + " has a control character");
}

// The config keys lxe sets, besides environment.<name>: its ownership marks, autostart, raw.lxc and
// the limits it manages. `allowed` says which of these groups an object may have.
enum Allow : unsigned { kMarks = 1, kAutostart = 2, kRawLxc = 4, kLimits = 8, kEnvironment = 16 };

void check_config(Violations& out, const lxd::Config& config, unsigned allowed, const Expected& expected) {
  static const std::set<std::string> kMarkKeys = {"user.lxe.managed", "user.lxe.kind", "user.lxe.id",
                                                  "user.lxe.sandbox-id"};
  static const std::set<std::string> kLimitKeys = {"limits.memory", "limits.cpu.allowance", "limits.cpu"};
  lxd::Config limits;
  for (const auto& [key, value] : config) {
    check_plain_string(out, "config key", key);
    if (key != "raw.lxc") check_plain_string(out, "config value of " + shown(key), value);
    if (kMarkKeys.count(key) != 0 && (allowed & kMarks) != 0) continue;
    if (key == "boot.autostart" && (allowed & kAutostart) != 0) {
      if (value != "false") out.push_back("boot.autostart is " + shown(value) + ", not 'false'");
      continue;
    }
    if (key == "raw.lxc" && (allowed & kRawLxc) != 0) continue;
    if (key == "security.syscalls.deny_default" && expected.unconfined_seccomp) {
      if (value != "false") out.push_back("security.syscalls.deny_default is " + shown(value) + ", not 'false'");
      continue;
    }
    if (kLimitKeys.count(key) != 0 && (allowed & kLimits) != 0) {
      limits[key] = value;
      continue;
    }
    if (starts_with(key, "environment.") && (allowed & kEnvironment) != 0) {
      const std::string name = key.substr(std::string_view("environment.").size());
      if (name.empty() || name.find('=') != std::string::npos || expected.env_names.count(name) == 0)
        out.push_back("config key " + shown(key) + " is not environment.<one of the config's variable names>");
      continue;
    }
    out.push_back("config key " + shown(key) + " is not one lxe sets on this object");
  }
  if ((allowed & kMarks) != 0) {
    const auto get = [&](const char* key) {
      const auto it = config.find(key);
      return it == config.end() ? std::string() : it->second;
    };
    if (get("user.lxe.managed") != "true") out.push_back("user.lxe.managed is not 'true'");
    if (get("user.lxe.kind") != "sandbox" && get("user.lxe.kind") != "container")
      out.push_back("user.lxe.kind " + shown(get("user.lxe.kind")) + " is neither 'sandbox' nor 'container'");
    if (get("user.lxe.id") != expected.id) out.push_back("user.lxe.id is not the record's ID");
    if (!is_hex_id(get("user.lxe.sandbox-id"))) out.push_back("user.lxe.sandbox-id is not a 64-hex ID");
  }
  for (auto& v : check_limits(limits)) out.push_back(std::move(v));
}

// Devices: lxe's own disks (named in `own`) and, with `mounts`, the config's mounts (mount0, ...).
void check_devices(Violations& out, const lxd::Devices& devices, const std::set<std::string>& own, bool mounts) {
  static const std::set<std::string> kProperties = {"type", "source", "path", "readonly"};
  std::map<std::string, std::string> seen_paths;  // normalised path -> device
  for (const auto& device : devices) {
    const std::string& name = device.first;
    const auto& props = device.second;  // a plain reference: clang 14 lambdas cannot capture bindings
    const bool user_mount = mounts && starts_with(name, "mount") && all_digits(name.substr(5));
    if (own.count(name) == 0 && !user_mount) out.push_back("device " + shown(name) + " is not one lxe makes");
    const auto get = [&](const char* key) {
      const auto it = props.find(key);
      return it == props.end() ? std::string() : it->second;
    };
    for (const auto& [key, value] : props) {
      if (kProperties.count(key) == 0) out.push_back("device " + name + " has the property " + shown(key));
      check_plain_string(out, "device " + name + " property " + key, value);
    }
    if (get("type") != "disk") out.push_back("device " + name + " is not a disk");
    if (props.count("readonly") != 0 && get("readonly") != "true")
      out.push_back("device " + name + " has readonly " + shown(get("readonly")));
    const std::string source = get("source");
    const std::string path = get("path");
    // A source that is not an absolute path means something else to LXD (a storage volume,
    // "ceph:..."), and a disk at "/" is the instance's root disk.
    if (source.empty() || source.front() != '/') out.push_back("device " + name + " source " + shown(source) + " is not absolute");
    if (path.empty() || path.front() != '/') {
      out.push_back("device " + name + " path " + shown(path) + " is not absolute");
      continue;
    }
    const std::string where = normal_path(path);
    if (where == "/") out.push_back("device " + name + " is mounted at the container's root " + shown(path));
    // lxe-init and the state directory live under /.lxe: a mount there hides or replaces them.
    if (user_mount && (where == "/.lxe" || starts_with(where, "/.lxe/")))
      out.push_back("device " + name + " is mounted over lxe's own " + shown(path));
    if (const auto [it, fresh] = seen_paths.emplace(where, name); !fresh)
      out.push_back("devices " + it->second + " and " + name + " are both mounted at " + shown(where));
  }
}

}  // namespace

bool has_control_character(std::string_view value) {
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

bool is_hostname(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  size_t start = 0;
  while (start <= name.size()) {
    const size_t dot = std::min(name.find('.', start), name.size());
    const std::string_view label = name.substr(start, dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (const char c : label)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
    start = dot + 1;
  }
  return true;
}

bool is_cpuset(std::string_view cpus) {
  if (cpus.empty()) return false;
  int64_t total = 0;
  size_t start = 0;
  while (start <= cpus.size()) {
    const size_t comma = std::min(cpus.find(',', start), cpus.size());
    const std::string_view chunk = cpus.substr(start, comma - start);
    const size_t dash = chunk.find('-');
    int64_t low = 0, high = 0;
    if (dash == std::string_view::npos) {
      if (!cpu_number(chunk, low)) return false;
      high = low;
    } else if (!cpu_number(chunk.substr(0, dash), low) || !cpu_number(chunk.substr(dash + 1), high) || low > high) {
      return false;
    }
    total += high - low + 1;
    if (total > kMaxCpus) return false;
    start = comma + 1;
  }
  return true;
}

Violations check_lxd_name(const std::string& name, const Expected& expected) {
  Violations out;
  const auto bad = [&](const std::string& why) { out.push_back("LXD name " + shown(name) + " " + why); };
  if (name.empty() || name.size() > 63) bad("is not 1 to 63 characters long");
  if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
    bad("has a character other than [a-z0-9-]");
  if (!name.empty() && !(name.front() >= 'a' && name.front() <= 'z')) bad("does not start with a letter");
  if (!name.empty() && name.back() == '-') bad("ends with '-'");
  if (!starts_with(name, expected.lxd_name_prefix + "-")) bad("does not start with the prefix");
  const std::string tail = "-" + expected.id.substr(0, 12);
  if (name.size() < tail.size() || name.compare(name.size() - tail.size(), tail.size(), tail) != 0)
    bad("does not end with the ID's first 12 hex digits");
  return out;
}

namespace {

// The namespace and mount lines an instance must have, from the request alone: which namespaces
// it joins (the holder's by PID, or the host's files), and the proc and sysfs binds LXC needs when
// the instance does not own those namespaces.
std::multiset<std::string> expected_namespace_lines(const Expected& e, bool holder) {
  std::multiset<std::string> lines;
  const bool host_net = !e.host_netns.empty(), host_pid = !e.host_pidns.empty(), host_ipc = !e.host_ipcns.empty();
  const std::string pid = std::to_string(e.infra_pid);
  auto mounts = [&](const std::string& proc, const std::string& sys) {
    lines.insert("lxc.mount.auto = ");
    lines.insert("lxc.mount.auto = " + std::string(proc.empty() ? "proc:rw " : "") + (sys.empty() ? "sys:rw " : "") +
                 "cgroup:mixed");
    lines.insert("lxc.mount.auto = shmounts:*");
    if (!proc.empty()) lines.insert("lxc.mount.entry = " + proc + " proc none rbind,create=dir 0 0");
    if (!sys.empty()) lines.insert("lxc.mount.entry = " + sys + " sys none rbind,create=dir 0 0");
  };
  if (holder) {
    if (host_net) lines.insert("lxc.namespace.share.net = " + e.host_netns);
    if (host_pid) lines.insert("lxc.namespace.share.pid = " + e.host_pidns);
    if (host_ipc) lines.insert("lxc.namespace.share.ipc = " + e.host_ipcns);
    if (host_net || host_pid) mounts(host_pid ? "/proc" : "", host_net ? "/sys" : "");
    return lines;
  }
  const bool joins_holder = !host_net || e.pid_from_holder || e.ipc_from_holder;
  if (e.infra_pid <= 0 && joins_holder) return lines;
  lines.insert("lxc.namespace.share.net = " + (host_net ? e.host_netns : pid));
  if (host_pid) lines.insert("lxc.namespace.share.pid = " + e.host_pidns);
  if (e.pid_from_holder) lines.insert("lxc.namespace.share.pid = " + pid);
  if (host_ipc) lines.insert("lxc.namespace.share.ipc = " + e.host_ipcns);
  if (e.ipc_from_holder) lines.insert("lxc.namespace.share.ipc = " + pid);
  if (!host_net && !host_pid && !host_ipc) {
    lines.insert("lxc.namespace.share.user = " + pid);
  } else {
    mounts(host_pid ? "/proc" : "", "/sys");
  }
  return lines;
}

}  // namespace

Violations check_raw_lxc(const std::string& raw, const Expected& expected, bool holder) {
  Violations out;
  std::multiset<std::string> namespace_lines;
  if (raw.empty() || raw.back() != '\n') out.push_back("raw.lxc " + shown(raw) + " does not end with a line break");
  std::map<std::string, int> count;
  size_t start = 0;
  while (start < raw.size()) {
    const size_t end = std::min(raw.find('\n', start), raw.size());
    const std::string line = raw.substr(start, end - start);
    start = end + 1;
    if (has_control_character(line)) {
      out.push_back("raw.lxc line " + shown(line) + " has a control character");
      continue;
    }
    // "key =" alone sets the key to nothing (LXC clears a list key so).
    const bool cleared = line.size() > 2 && line.compare(line.size() - 2, 2, " =") == 0;
    const size_t eq = cleared ? line.size() - 2 : line.find(" = ");
    if (eq == std::string::npos) {
      out.push_back("raw.lxc line " + shown(line) + " is not 'lxc.<key> = <value>'");
      continue;
    }
    const std::string key = line.substr(0, eq);
    const std::string value = cleared ? std::string() : line.substr(eq + 3);
    ++count[key];
    if (key == "lxc.init.cmd") {
      const std::string want = holder ? "/.lxe/init pause" : "/.lxe/init run /.lxe/state/spec.json";
      if (value != want) out.push_back("raw.lxc runs " + shown(value) + ", not " + shown(want));
    } else if (key == "lxc.uts.name") {
      if (!is_hostname(value)) out.push_back("raw.lxc hostname " + shown(value) + " is not a valid hostname");
    } else if (starts_with(key, "lxc.namespace.") || starts_with(key, "lxc.mount.")) {
      // LXD's shmounts folder is named after the instance: only its shape is checked here.
      constexpr std::string_view kShmountsEnd = ":/dev/.lxd-mounts";
      const bool shmounts = key == "lxc.mount.auto" && starts_with(value, "shmounts:") &&
                            value.size() > 9 + kShmountsEnd.size() &&
                            value.compare(value.size() - kShmountsEnd.size(), kShmountsEnd.size(), kShmountsEnd) == 0;
      namespace_lines.insert(key + " = " + (shmounts ? std::string("shmounts:*") : value));
    } else if (starts_with(key, "lxc.sysctl.")) {
      const auto it = expected.sysctls.find(key.substr(std::string_view("lxc.sysctl.").size()));
      if (it == expected.sysctls.end())
        out.push_back("raw.lxc sets " + shown(key) + ", not one of the pod's sysctls");
      else if (value != it->second)
        out.push_back("raw.lxc sets " + key + " to " + shown(value) + ", not the pod's " + shown(it->second));
    } else {
      out.push_back("raw.lxc sets " + shown(key) + ", a key lxe does not write");
    }
  }
  for (const auto& [name, value] : expected.sysctls) {
    const auto it = count.find("lxc.sysctl." + name);
    if (it == count.end() || it->second != 1)
      out.push_back("raw.lxc has " + std::to_string(it == count.end() ? 0 : it->second) + " lxc.sysctl." + name +
                    " lines, not 1");
  }
  const std::map<std::string, int> want = {{"lxc.init.cmd", holder || expected.runs_lxe_init ? 1 : 0},
                                           {"lxc.uts.name", 1}};
  for (const auto& [key, n] : want) {
    const auto it = count.find(key);
    const int have = it == count.end() ? 0 : it->second;
    if (have != n)
      out.push_back("raw.lxc has " + std::to_string(have) + " " + key + " lines, not " + std::to_string(n));
  }
  const auto wanted_lines = expected_namespace_lines(expected, holder);
  for (const auto& line : namespace_lines)
    if (namespace_lines.count(line) != wanted_lines.count(line))
      out.push_back("raw.lxc has " + std::to_string(namespace_lines.count(line)) + " " + shown(line) + " lines, not " +
                    std::to_string(wanted_lines.count(line)));
  for (const auto& line : wanted_lines)
    if (namespace_lines.count(line) == 0) out.push_back("raw.lxc lacks " + shown(line));
  return out;
}

Violations check_limits(const lxd::Config& limits) {
  Violations out;
  for (const auto& [key, value] : limits) {
    if (value.empty()) continue;  // clears the key
    if (key == "limits.memory") {
      if (!is_positive_integer(value)) out.push_back("limits.memory " + shown(value) + " is not a byte count");
    } else if (key == "limits.cpu.allowance") {
      bool ok = false;
      if (value.back() == '%') {
        const std::string_view n = std::string_view(value).substr(0, value.size() - 1);
        ok = is_positive_integer(n) && std::stoll(std::string(n)) <= 100;
      } else if (const size_t slash = value.find("ms/"); slash != std::string::npos && value.size() > 2 &&
                                                          value.compare(value.size() - 2, 2, "ms") == 0) {
        ok = is_positive_integer(std::string_view(value).substr(0, slash)) &&
             is_positive_integer(std::string_view(value).substr(slash + 3, value.size() - slash - 5));
      }
      if (!ok) out.push_back("limits.cpu.allowance " + shown(value) + " is neither N% (1-100) nor Nms/Mms");
    } else if (key == "limits.cpu") {
      // A bare number is a CPU count to LXD, not a CPU: lxe writes CPU 3 as "3-3".
      if (!is_cpuset(value) || all_digits(value))
        out.push_back("limits.cpu " + shown(value) + " is not a cpuset LXD parses as one");
    } else {
      out.push_back("limits key " + shown(key) + " is not one lxe manages");
    }
  }
  return out;
}

Violations check_profile(const lxd::ProfileSpec& spec, const Expected& expected) {
  Violations out = check_lxd_name(spec.name, expected);
  check_plain_string(out, "profile description", spec.description);
  check_config(out, spec.config, kMarks, expected);
  check_devices(out, spec.devices, {"lxe-resolv"}, false);
  if (const auto it = spec.devices.find("lxe-resolv"); it != spec.devices.end()) {
    const auto& d = it->second;
    if (d.count("path") == 0 || d.at("path") != "/etc/resolv.conf") out.push_back("lxe-resolv is not at /etc/resolv.conf");
    if (d.count("readonly") == 0) out.push_back("lxe-resolv is not read-only");
  }
  return out;
}

namespace {

// "tcp:0.0.0.0:80", "udp:[::1]:53": a protocol, a literal address and a port of 1 to 65535.
bool is_proxy_address(const std::string& text) {
  if (!starts_with(text, "tcp:") && !starts_with(text, "udp:")) return false;
  const std::string rest = text.substr(4);
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = rest.substr(0, colon);
  const std::string port = rest.substr(colon + 1);
  if (port.empty() || port.size() > 5 || !all_digits(port) || std::stol(port) < 1 || std::stol(port) > 65535)
    return false;
  const bool v6 = host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (v6) host = host.substr(1, host.size() - 2);
  unsigned char buffer[16];
  return ::inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), buffer) == 1;
}

// A host port: LXD listens on the host and connects into the pod's namespace; nothing else.
void check_port_proxy(Violations& out, const std::string& name, const std::map<std::string, std::string>& device,
                      bool host_network) {
  if (host_network) out.push_back("device " + name + ": a host network pod's ports need no proxy");
  static const std::set<std::string> kProperties = {"type", "listen", "connect", "bind"};
  for (const auto& [key, value] : device) {
    if (kProperties.count(key) == 0) out.push_back("device " + name + " has the property " + shown(key));
    check_plain_string(out, "device " + name + " property " + key, value);
  }
  const auto get = [&](const char* key) {
    const auto it = device.find(key);
    return it == device.end() ? std::string() : it->second;
  };
  if (get("type") != "proxy") out.push_back("device " + name + " is not a proxy");
  if (get("bind") != "host") out.push_back("device " + name + " does not listen on the host");
  if (!is_proxy_address(get("listen"))) out.push_back("device " + name + " listens on " + shown(get("listen")));
  if (!is_proxy_address(get("connect"))) out.push_back("device " + name + " connects to " + shown(get("connect")));
  if (get("listen").substr(0, 4) != get("connect").substr(0, 4))
    out.push_back("device " + name + " changes the protocol");
}

}  // namespace

Violations check_infra_instance(const lxd::InstanceSpec& spec, const Expected& expected) {
  Violations out = check_lxd_name(spec.name, expected);
  check_plain_string(out, "instance description", spec.description);
  if (spec.profiles != std::vector<std::string>{"default", spec.name})
    out.push_back("the holder's profiles are not 'default' and its own");
  check_config(out, spec.config, kMarks | kAutostart | kRawLxc, expected);
  const auto raw = spec.config.find("raw.lxc");
  for (auto& v : check_raw_lxc(raw == spec.config.end() ? "" : raw->second, expected, true)) out.push_back(std::move(v));
  lxd::Devices disks;
  for (const auto& [name, device] : spec.devices) {
    if (starts_with(name, "lxe-port") && all_digits(name.substr(8)) && name.size() > 8)
      check_port_proxy(out, name, device, !expected.host_netns.empty());
    else
      disks[name] = device;
  }
  check_devices(out, disks, {"lxe-init"}, false);
  if (spec.source.alias.empty()) out.push_back("the holder has no image alias");
  return out;
}

Violations check_container_instance(const lxd::InstanceSpec& spec, const Expected& expected) {
  Violations out = check_lxd_name(spec.name, expected);
  check_plain_string(out, "instance description", spec.description);
  if (spec.profiles.size() != 2 || spec.profiles[0] != "default" || spec.profiles[1].empty() ||
      spec.profiles[1].find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
    out.push_back("the container's profiles are not 'default' and its pod's");
  check_config(out, spec.config, kMarks | kAutostart | kRawLxc | kLimits | kEnvironment, expected);
  if (expected.unconfined_seccomp && spec.config.count("security.syscalls.deny_default") == 0)
    out.push_back("an unconfined container keeps LXD's default seccomp denylist (no security.syscalls.deny_default)");
  const auto raw = spec.config.find("raw.lxc");
  for (auto& v : check_raw_lxc(raw == spec.config.end() ? "" : raw->second, expected, false))
    out.push_back(std::move(v));
  check_devices(out, spec.devices, {"lxe-init", "lxe-state", "lxe-log"}, true);
  if (spec.source.fingerprint.empty() && spec.source.alias.empty()) out.push_back("the container has no image");
  return out;
}

Violations check_init_spec(const std::string& text) {
  Violations out;
  const auto spec = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!spec.is_object()) return {"spec.json is not a JSON object: " + shown(text)};
  const auto strings = [&](const char* key) {
    std::vector<std::string> values;
    const auto it = spec.find(key);
    if (it == spec.end() || !it->is_array()) {
      out.push_back(std::string("spec.json ") + key + " is not an array");
      return values;
    }
    for (const auto& v : *it) {
      if (!v.is_string()) {
        out.push_back(std::string("spec.json ") + key + " holds a non-string");
        continue;
      }
      values.push_back(v.get<std::string>());
      // lxe-init hands these to execve, which ends a string at NUL.
      if (values.back().find('\0') != std::string::npos)
        out.push_back(std::string("spec.json ") + key + " entry " + shown(values.back()) + " has a NUL byte");
    }
    return values;
  };
  strings("args");
  for (const auto& e : strings("env"))
    if (e.find('=') == std::string::npos || e.front() == '=')
      out.push_back("spec.json env entry " + shown(e) + " is not NAME=value");
  const auto string_at = [&](const char* key) -> std::string {
    const auto it = spec.find(key);
    if (it == spec.end() || !it->is_string()) {
      out.push_back(std::string("spec.json ") + key + " is not a string");
      return "";
    }
    return it->get<std::string>();
  };
  const std::string cwd = string_at("cwd");
  if (cwd.empty() || cwd.find('\0') != std::string::npos) out.push_back("spec.json cwd " + shown(cwd) + " is empty or has a NUL byte");
  const std::string log = string_at("log_path");
  if (!log.empty()) {
    const std::string file = starts_with(log, "/.lxe/log/") ? log.substr(10) : "";
    if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos ||
        has_control_character(file))
      out.push_back("spec.json log_path " + shown(log) + " is not a file in /.lxe/log");
  }
  if (string_at("exit_path") != "/.lxe/state/exit.json") out.push_back("spec.json exit_path is not /.lxe/state/exit.json");
  if (const std::string host = string_at("hostname"); !is_hostname(host))
    out.push_back("spec.json hostname " + shown(host) + " is not a valid hostname");
  for (const char* key : {"uid", "gid"})
    if (spec.contains(key) && !spec[key].is_number_integer()) out.push_back(std::string("spec.json ") + key + " is not an integer");
  // Process security: lxe-init refuses a spec whose fields do not have these shapes.
  std::set<std::string> caps;
  for (const auto& c : strings("capabilities")) {
    if (c.size() <= 4 || !starts_with(c, "CAP_") ||
        !std::all_of(c.begin() + 4, c.end(), [](char ch) { return (ch >= 'A' && ch <= 'Z') || ch == '_'; }))
      out.push_back("spec.json capability " + shown(c) + " is not a CAP_ name");
    if (!caps.insert(c).second) out.push_back("spec.json capability " + shown(c) + " is there twice");
  }
  for (const char* key : {"privileged", "no_new_privs"})
    if (!spec.contains(key) || !spec[key].is_boolean()) out.push_back(std::string("spec.json ") + key + " is not true or false");
  if (spec.contains("privileged") && spec["privileged"].is_boolean() && spec["privileged"].get<bool>() &&
      spec.contains("seccomp"))
    out.push_back("spec.json has a seccomp profile for a privileged container");
  if (spec.contains("seccomp")) {
    const auto& seccomp = spec["seccomp"];
    if (!seccomp.is_object() || !seccomp.contains("defaultAction") || !seccomp["defaultAction"].is_string() ||
        !seccomp.contains("syscalls") || !seccomp["syscalls"].is_array())
      out.push_back("spec.json seccomp is not a profile: " + shown(seccomp.dump()));
    else
      for (const auto& rule : seccomp["syscalls"])
        if (rule.contains("includes") || rule.contains("excludes"))
          out.push_back("spec.json seccomp has a rule lxe did not resolve: " + shown(rule.dump()));
  }
  const auto groups = spec.find("supplemental_groups");
  if (groups == spec.end() || !groups->is_array()) {
    out.push_back("spec.json supplemental_groups is not an array");
  } else {
    for (const auto& g : *groups)
      if (!g.is_number_integer() || g.get<int64_t>() < 0 || g.get<int64_t>() > 4294967294LL)
        out.push_back("spec.json supplemental_groups has " + shown(g.dump()) + ", not a group ID");
  }
  const auto policy_it = spec.find("supplemental_groups_policy");
  const std::string policy = policy_it != spec.end() && policy_it->is_string() ? policy_it->get<std::string>() : "";
  if (policy != "Merge" && policy != "Strict")
    out.push_back("spec.json supplemental_groups_policy " + shown(policy) + " is neither Merge nor Strict");
  return out;
}

Violations check_log_path(const std::string& log_path, const std::string& log_directory) {
  namespace fs = std::filesystem;
  if (log_path.empty()) return {};
  Violations out;
  const fs::path file(log_path);
  const std::string name = file.filename().string();
  if (name.empty() || name == "." || name == "..") out.push_back("log path " + shown(log_path) + " names no file");
  const fs::path inside = file.lexically_normal().lexically_relative(fs::path(log_directory).lexically_normal());
  if (log_directory.empty() || inside.empty() || *inside.begin() == ".." || *inside.begin() == ".")
    out.push_back("log path " + shown(log_path) + " is not inside the log directory " + shown(log_directory));
  check_plain_string(out, "log path", log_path);
  return out;
}

Violations check_resolv_conf(const std::string& text) {
  Violations out;
  if (text.empty()) return out;
  if (text.back() != '\n') out.push_back("resolv.conf does not end with a line break");
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = std::min(text.find('\n', start), text.size());
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    const bool known = starts_with(line, "nameserver ") || starts_with(line, "search ") || starts_with(line, "options ");
    // Entries are single words: an empty one, or whitespace, would shift the others.
    if (!known || has_control_character(line) || line.find("  ") != std::string::npos || line.back() == ' ' ||
        (starts_with(line, "nameserver ") && line.find(' ', 11) != std::string::npos))
      out.push_back("resolv.conf line " + shown(line) + " is not 'nameserver|search|options <words>'");
  }
  return out;
}

}  // namespace lxe::fuzz
