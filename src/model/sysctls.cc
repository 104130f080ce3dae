#include "model/sysctls.h"

#include <algorithm>

namespace lxe::model {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// The namespaced sysctls, as Kubernetes lists them: the IPC namespace's and the network's.
bool namespaced(std::string_view key) {
  return starts_with(key, "kernel.shm") || starts_with(key, "kernel.msg") || key == "kernel.sem" ||
         starts_with(key, "fs.mqueue.") || starts_with(key, "net.");
}

}  // namespace

std::string dotted_sysctl(std::string_view key) {
  std::string out(key);
  if (key.find('/') == std::string_view::npos) return out;
  if (key.find('.') != std::string_view::npos) return "";
  std::replace(out.begin(), out.end(), '/', '.');
  return out;
}

std::string sysctl_problem(std::string_view key, std::string_view value, bool host_network, bool host_ipc) {
  const std::string shown(key);
  if (key.empty()) return "a sysctl has an empty name";
  if (key.size() > 256) return "sysctl name '" + shown.substr(0, 64) + "...' is longer than 256 characters";
  // Letters, digits and the separators only: the name becomes part of an LXC config key.
  if (!std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
               c == '.' || c == '/';
      }))
    return "sysctl name '" + shown + "' has a character other than letters, digits, '_', '-', '.' and '/'";
  const std::string dotted = dotted_sysctl(key);
  if (dotted.empty())
    return "sysctl '" + shown + "' mixes '/' and '.': LXC takes names with '.' between parts only";
  if (dotted.front() == '.' || dotted.back() == '.' || dotted.find("..") != std::string::npos)
    return "sysctl name '" + shown + "' has an empty part";
  if (!namespaced(dotted))
    return "sysctl '" + shown +
           "' is not namespaced: it would change the whole node (pods may set kernel.shm*, kernel.msg*, "
           "kernel.sem, fs.mqueue.* and net.*)";
  if (host_network && starts_with(dotted, "net."))
    return "sysctl '" + shown + "' would change the node's own network settings: the pod uses the host's network";
  if (host_ipc && !starts_with(dotted, "net."))
    return "sysctl '" + shown + "' would change the node's own IPC settings: the pod uses the host's IPC namespace";
  if (value.empty()) return "sysctl '" + shown + "' has an empty value";
  if (value.size() > 4096) return "the value of sysctl '" + shown + "' is longer than 4096 characters";
  // The value ends an LXC config line: no line break or other control character, a tab included
  // (the kernel takes spaces between numbers as well).
  if (std::any_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return "the value of sysctl '" + shown + "' has a tab, a line break or another control character";
  // Namespaced sysctls take numbers, ranges, lists and names ("4096 87380 6291456", "8080,9148",
  // "cubic"): nothing else, so that no value reads as more than one (an '=', a '#').
  if (!std::all_of(value.begin(), value.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '.' ||
               c == '_' || c == ':' || c == ',' || c == '+' || c == '-' || c == '/';
      }))
    return "the value of sysctl '" + shown +
           "' has a character other than letters, digits, spaces and . _ : , + - /";
  if (value.front() == ' ' || value.back() == ' ')
    return "the value of sysctl '" + shown + "' begins or ends with whitespace, which LXC would drop";
  return "";
}

std::map<std::string, std::string> pod_sysctls(const runtime::v1::PodSandboxConfig& config) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : config.linux().sysctls()) out[dotted_sysctl(key)] = value;
  return out;
}

std::string sysctl_raw_lxc(const runtime::v1::PodSandboxConfig& config, bool network, bool ipc) {
  std::string raw;
  for (const auto& [key, value] : pod_sysctls(config)) {
    const bool is_network = starts_with(key, "net.");
    if ((is_network && network) || (!is_network && ipc)) raw += "lxc.sysctl." + key + " = " + value + "\n";
  }
  return raw;
}

}  // namespace lxe::model
