#include "cri/validation.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <tuple>
#include <map>
#include <utility>

#include "reconcile/lxd_specs.h"
#include "reconcile/pod_namespaces.h"
#include "model/security_context.h"
#include "model/sysctls.h"

namespace lxe::cri {

namespace {

std::string quoted_for_message(std::string_view value) {
  std::string out = "'";
  for (const char ch : value.substr(0, 60)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += ch;
    }
  }
  return out + (value.size() > 60 ? "...'" : "'");
}

// Well-formed UTF-8 (RFC 3629: no overlong forms, no UTF-16 surrogates, nothing above U+10FFFF),
// as protobuf requires of `string` fields and JSON of every string.
bool valid_utf8(std::string_view s) {
  const auto at = [&](size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u; };
  const auto continuation = [](unsigned c, unsigned low = 0x80, unsigned high = 0xbf) { return c >= low && c <= high; };
  for (size_t i = 0; i < s.size();) {
    const unsigned c = at(i);
    if (c < 0x80) {
      i += 1;
    } else if (c >= 0xc2 && c <= 0xdf && continuation(at(i + 1))) {
      i += 2;
    } else if (c >= 0xe0 && c <= 0xef && continuation(at(i + 1), c == 0xe0 ? 0xa0 : 0x80, c == 0xed ? 0x9f : 0xbf) &&
               continuation(at(i + 2))) {
      i += 3;
    } else if (c >= 0xf0 && c <= 0xf4 && continuation(at(i + 1), c == 0xf0 ? 0x90 : 0x80, c == 0xf4 ? 0x8f : 0xbf) &&
               continuation(at(i + 2)) && continuation(at(i + 3))) {
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string control_character_problem(std::string_view value) {
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0) return "contains a NUL byte";
    if (c == '\n' || c == '\r') return "contains a line break";
    if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", c);
      return std::string("contains the control character ") + hex;
    }
  }
  return "";
}

std::string nul_problem(std::string_view value) {
  return value.find('\0') == std::string_view::npos ? "" : "contains a NUL byte";
}

std::string stream_choice_problem(bool tty, bool in, bool out, bool err) {
  if (tty && err) return "tty and stderr cannot both be true (a terminal merges stderr into stdout)";
  if (!in && !out && !err) return "one of stdin, stdout and stderr must be true";
  return "";
}

std::string env_name_problem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (auto problem = control_character_problem(name); !problem.empty()) return problem;
  if (name.find('=') != std::string_view::npos) return "contains '='";
  return "";
}

std::string cpuset_problem(std::string_view cpus) {
  if (cpus.empty()) return "";
  const std::string malformed = "is not a list of CPU numbers and ranges such as '0-3,8'";
  const std::string too_big = "names a CPU beyond " + std::to_string(kMaxCpus - 1) + ", the largest Linux has";
  // A CPU number: digits only; its value stops being read once it is past the largest.
  const auto number = [&](std::string_view text, int64_t& value) -> std::string {
    if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) return malformed;
    value = 0;
    for (const char c : text) {
      value = value * 10 + (c - '0');
      if (value >= kMaxCpus) return too_big;
    }
    return "";
  };
  int64_t listed = 0;
  size_t start = 0;
  while (start <= cpus.size()) {
    const size_t comma = std::min(cpus.find(',', start), cpus.size());
    const std::string_view item = cpus.substr(start, comma - start);
    const size_t dash = item.find('-');
    int64_t low = 0, high = 0;
    if (auto p = number(item.substr(0, dash), low); !p.empty()) return p;
    if (dash == std::string_view::npos) {
      high = low;
    } else if (auto p = number(item.substr(dash + 1), high); !p.empty()) {
      return p;
    } else if (high < low) {
      return "has the range '" + std::string(item) + "', whose end is below its start";
    }
    listed += high - low + 1;
    if (listed > kMaxCpus) return "lists more than " + std::to_string(kMaxCpus) + " CPUs";
    start = comma + 1;
  }
  return "";
}

std::string resources_problem(const runtime::v1::LinuxContainerResources& r) {
  if (auto p = cpuset_problem(r.cpuset_cpus()); !p.empty()) return "cpuset_cpus " + quoted_for_message(r.cpuset_cpus()) + " " + p;
  if (auto p = cpuset_problem(r.cpuset_mems()); !p.empty()) return "cpuset_mems " + quoted_for_message(r.cpuset_mems()) + " " + p;
  if (r.oom_score_adj() < -1000 || r.oom_score_adj() > 1000)
    return "oom_score_adj " + std::to_string(r.oom_score_adj()) + " is outside the kernel's range -1000..1000";
  return "";
}

std::string mount_problem(const runtime::v1::Mount& m, int index) {
  const std::string which = "mounts[" + std::to_string(index) + "]";
  const auto field = [&](const char* name, const std::string& value, const std::string& problem) {
    return which + "." + name + " " + quoted_for_message(value) + " " + problem;
  };
  if (auto p = control_character_problem(m.host_path()); !p.empty()) return field("host_path", m.host_path(), p);
  if (auto p = control_character_problem(m.container_path()); !p.empty())
    return field("container_path", m.container_path(), p);
  if (m.has_image() && !m.image().image().empty())
    return which + " is an image volume (" + quoted_for_message(m.image().image()) + "), which lxe does not support";
  if (m.container_path().empty()) return which + ".container_path is empty";
  if (m.container_path().front() != '/') return field("container_path", m.container_path(), "is not an absolute path");
  // A relative host path would be taken from lxe's own working directory.
  if (m.host_path().empty()) return which + ".host_path is empty";
  if (m.host_path().front() != '/') return field("host_path", m.host_path(), "is not an absolute path");
  if (m.recursive_read_only() && !m.readonly())
    return which + " asks for recursive_read_only without readonly (CRI allows it only on a read-only mount)";
  return "";
}

std::string container_config_problem(const runtime::v1::ContainerConfig& config) {
  const auto field = [](const std::string& what, std::string_view value, const std::string& problem) {
    return problem.empty() ? "" : what + " " + quoted_for_message(value) + " " + problem;
  };
  if (auto p = field("metadata.name", config.metadata().name(), control_character_problem(config.metadata().name()));
      !p.empty())
    return p;
  if (auto p = field("image", config.image().image(), control_character_problem(config.image().image())); !p.empty())
    return p;
  for (int i = 0; i < config.command_size(); ++i)
    if (auto p = field("command[" + std::to_string(i) + "]", config.command(i), nul_problem(config.command(i)));
        !p.empty())
      return p;
  for (int i = 0; i < config.args_size(); ++i)
    if (auto p = field("args[" + std::to_string(i) + "]", config.args(i), nul_problem(config.args(i))); !p.empty())
      return p;
  if (auto p = field("working_dir", config.working_dir(), control_character_problem(config.working_dir()));
      !p.empty())
    return p;
  for (const auto& kv : config.envs()) {
    if (auto p = env_name_problem(kv.key()); !p.empty())
      return "environment variable name " + quoted_for_message(kv.key()) + " " + p;
    if (auto p = control_character_problem(kv.value()); !p.empty())
      return "the value of environment variable " + kv.key() + " " + p;
    // KeyValue.value is `bytes` in the CRI proto, so protobuf passes any bytes; spec.json and the
    // JSON body of LXD's request cannot carry what is not UTF-8.
    if (!valid_utf8(kv.value())) return "the value of environment variable " + kv.key() + " is not valid UTF-8";
  }
  std::map<std::string, int> mounted;  // where each mount ends up in the container -> its index
  for (int i = 0; i < config.mounts_size(); ++i) {
    const auto& m = config.mounts(i);
    if (auto p = mount_problem(m, i); !p.empty()) return p;
    // Each mount becomes an LXD disk device at its container path, as the kernel resolves it. At
    // "/" LXD takes it for the root disk and refuses it; two at one place are refused by LXD or
    // hide each other; under /.lxe one would replace or hide lxe-init, the container's state
    // directory or its log directory, all of which lxe mounts there. (Symlinks in the image are
    // resolved later, before the first start: volumes.h checks the result again.)
    std::string where = std::filesystem::path(m.container_path()).lexically_normal().string();
    while (where.size() > 1 && where.back() == '/') where.pop_back();
    const std::string shown =
        "mounts[" + std::to_string(i) + "].container_path " + quoted_for_message(m.container_path());
    if (where == "/") return shown + " is the container's root, which a mount cannot replace";
    if (where == "/.lxe" || where.rfind("/.lxe/", 0) == 0)
      return shown + " is inside /.lxe, where lxe mounts lxe-init and the container's state and log";
    if (const auto [it, fresh] = mounted.emplace(where, i); !fresh)
      return shown + " is where mounts[" + std::to_string(it->second) + "] is mounted too";
  }
  if (auto p = field("log_path", config.log_path(), control_character_problem(config.log_path())); !p.empty())
    return p;
  if (config.has_linux() && config.linux().has_resources()) return resources_problem(config.linux().resources());
  return "";
}

std::string port_mappings_problem(const runtime::v1::PodSandboxConfig& config) {
  std::set<std::tuple<int, std::string, int32_t>> seen;  // protocol, host IP, host port
  for (int i = 0; i < config.port_mappings_size(); ++i) {
    const auto& p = config.port_mappings(i);
    const std::string where = "port_mappings[" + std::to_string(i) + "]";
    if (p.host_port() == 0) continue;  // a container port only: nothing to publish on the host
    if (p.host_port() < 0 || p.host_port() > 65535)
      return where + ".host_port " + std::to_string(p.host_port()) + " is not a port (1 to 65535)";
    if (p.container_port() <= 0 || p.container_port() > 65535)
      return where + ".container_port " + std::to_string(p.container_port()) + " is not a port (1 to 65535)";
    if (p.protocol() == runtime::v1::SCTP)
      return where + ": SCTP host ports are not supported by lxe (LXD's proxy devices carry TCP and UDP)";
    if (p.protocol() != runtime::v1::TCP && p.protocol() != runtime::v1::UDP)
      return where + ".protocol " + std::to_string(p.protocol()) + " is not TCP, UDP or SCTP";
    if (auto problem = control_character_problem(p.host_ip()); !problem.empty())
      return where + ".host_ip " + problem;
    if (!p.host_ip().empty() && !reconcile::valid_listen_address(p.host_ip()))
      return where + ".host_ip '" + p.host_ip() + "' is not an IPv4 or IPv6 address";
    if (!seen.insert({p.protocol(), p.host_ip(), p.host_port()}).second)
      return where + " publishes " + reconcile::port_mapping_text(p) + " a second time";
  }
  return "";
}

std::string run_pod_sandbox_problem(const runtime::v1::RunPodSandboxRequest& request) {
  if (!request.has_config()) return "config is missing";
  const auto& config = request.config();
  if (!config.has_metadata()) return "config.metadata is missing";
  const auto& m = config.metadata();
  if (m.name().empty()) return "metadata.name is empty";
  if (m.namespace_().empty()) return "metadata.namespace is empty";
  if (m.uid().empty()) return "metadata.uid is empty";
  for (const auto& [field, value] : {std::pair<const char*, const std::string&>{"metadata.name", m.name()},
                                      {"metadata.namespace", m.namespace_()},
                                      {"metadata.uid", m.uid()},
                                      {"log_directory", config.log_directory()}})
    if (auto problem = control_character_problem(value); !problem.empty())
      return std::string(field) + " " + problem;
  if (!config.log_directory().empty() && !std::filesystem::path(config.log_directory()).is_absolute())
    return "log_directory '" + config.log_directory() + "' is not an absolute path";
  if (!config.hostname().empty() && !reconcile::valid_hostname(config.hostname()))
    return "hostname '" + config.hostname() + "' is not a valid hostname (RFC 1123 labels, at most 63 characters)";
  if (config.has_dns_config()) {
    const auto& dns = config.dns_config();
    for (const auto* list : {&dns.servers(), &dns.searches(), &dns.options()})
      for (const auto& value : *list)
        if (value.empty() || value.find_first_of(" \t\r\n") != std::string::npos ||
            !control_character_problem(value).empty())
          return "dns_config entry '" + value + "' is empty or contains whitespace or a control character";
  }
  if (auto problem = port_mappings_problem(config); !problem.empty()) return problem;
  const auto& pod_security = config.linux().security_context();
  if (auto problem = model::mac_problem(pod_security.apparmor(), "",
                                        pod_security.selinux_options(), pod_security.has_selinux_options(),
                                        "the pod's security_context: ");
      !problem.empty())
    return problem;
  const auto& modes = config.linux().security_context().namespace_options();
  if (auto problem = reconcile::pod_namespace_problem(modes); !problem.empty()) return problem;
  const bool host_network = modes.network() == runtime::v1::NamespaceMode::NODE;
  const bool host_ipc = modes.ipc() == runtime::v1::NamespaceMode::NODE;
  for (const auto& [key, value] : config.linux().sysctls())
    if (auto problem = model::sysctl_problem(key, value, host_network, host_ipc); !problem.empty()) return problem;
  if (!request.runtime_handler().empty() && request.runtime_handler() != "lxe")
    return "runtime handler '" + request.runtime_handler() +
           "' is not known; lxe has only its default handler (empty or \"lxe\")";
  return "";
}

std::string create_container_problem(const runtime::v1::CreateContainerRequest& request) {
  if (request.pod_sandbox_id().empty()) return "pod_sandbox_id is empty";
  if (!request.has_config()) return "config is missing";
  const auto& config = request.config();
  if (!config.has_metadata()) return "config.metadata is missing";
  if (config.metadata().name().empty()) return "metadata.name is empty";
  if (!config.has_image() || config.image().image().empty()) return "image is empty";
  // Mounts (paths, where they go) are container_config_problem's.
  // tty, stdin and stdin_once go to lxe-init, which keeps the terminal and stdin for Attach.
  return container_config_problem(config);
}

std::string log_path_problem(const std::string& log_directory, const std::string& log_path, std::string& full) {
  namespace fs = std::filesystem;
  full.clear();
  if (log_path.empty()) return "";
  if (log_directory.empty()) return "log_path '" + log_path + "' given but the pod sandbox has no log_directory";
  const fs::path relative(log_path);
  if (relative.is_absolute()) return "log_path '" + log_path + "' must be relative to the sandbox's log_directory";
  const fs::path joined = (fs::path(log_directory) / relative).lexically_normal();
  const fs::path base = fs::path(log_directory).lexically_normal();
  const auto rel = joined.lexically_relative(base);
  // "." (the directory itself), "sub/.." and escapes are refused: the log must be a file inside.
  if (rel.empty() || *rel.begin() == ".." || rel == ".")
    return "log_path '" + log_path + "' leads outside the log_directory " + log_directory;
  // "0.log/" (or "0.log/."): lxe creates the log file itself and gives lxe-init its name.
  if (!joined.has_filename()) return "log_path '" + log_path + "' names a directory, not a file";
  full = joined.string();
  return "";
}

std::string update_pod_resources_problem(const runtime::v1::UpdatePodSandboxResourcesRequest& request) {
  if (request.pod_sandbox_id().empty()) return "pod_sandbox_id is empty";
  if (!request.has_resources()) return "resources is missing (the pod's new resources)";
  if (auto problem = resources_problem(request.resources()); !problem.empty()) return "resources: " + problem;
  if (auto problem = resources_problem(request.overhead()); !problem.empty()) return "overhead: " + problem;
  return "";
}

std::string update_resources_problem(const runtime::v1::UpdateContainerResourcesRequest& request) {
  if (!request.has_linux()) return "linux resources are missing (lxe runs Linux containers only)";
  return resources_problem(request.linux());
}

runtime::v1::LinuxContainerResources merged_resources(const runtime::v1::LinuxContainerResources& current,
                                                      const runtime::v1::LinuxContainerResources& wanted) {
  runtime::v1::LinuxContainerResources out = current;
  if (wanted.cpu_period() != 0) out.set_cpu_period(wanted.cpu_period());
  if (wanted.cpu_quota() != 0) out.set_cpu_quota(wanted.cpu_quota());
  if (wanted.cpu_shares() != 0) out.set_cpu_shares(wanted.cpu_shares());
  if (wanted.memory_limit_in_bytes() != 0) out.set_memory_limit_in_bytes(wanted.memory_limit_in_bytes());
  if (wanted.memory_swap_limit_in_bytes() != 0)
    out.set_memory_swap_limit_in_bytes(wanted.memory_swap_limit_in_bytes());
  if (wanted.oom_score_adj() != 0) out.set_oom_score_adj(wanted.oom_score_adj());
  if (!wanted.cpuset_cpus().empty()) out.set_cpuset_cpus(wanted.cpuset_cpus());
  if (!wanted.cpuset_mems().empty()) out.set_cpuset_mems(wanted.cpuset_mems());
  if (wanted.hugepage_limits_size() != 0) *out.mutable_hugepage_limits() = wanted.hugepage_limits();
  for (const auto& [key, value] : wanted.unified()) (*out.mutable_unified())[key] = value;
  return out;
}

std::string live_update_problem(const runtime::v1::LinuxContainerResources& current,
                                const runtime::v1::LinuxContainerResources& wanted) {
  if (wanted.cpuset_mems() != current.cpuset_mems())
    return "cpuset_mems cannot change on a running container in LXD (no live key); recreate the container to "
           "change it";
  if (wanted.oom_score_adj() != current.oom_score_adj())
    return "oom_score_adj applies only when the container starts; recreate the container to change it";
  if (wanted.memory_swap_limit_in_bytes() != current.memory_swap_limit_in_bytes() &&
      wanted.memory_swap_limit_in_bytes() != 0)
    return "memory_swap_limit_in_bytes has no LXD equivalent lxe can apply live";
  google::protobuf::util::MessageDifferencer same;
  if (wanted.hugepage_limits_size() != current.hugepage_limits_size() ||
      !std::equal(wanted.hugepage_limits().begin(), wanted.hugepage_limits().end(),
                  current.hugepage_limits().begin(),
                  [&](const auto& a, const auto& b) { return same.Equals(a, b); }))
    for (const auto& h : wanted.hugepage_limits())
      if (h.limit() != 0)
        return "hugepage limits cannot change on a running container in LXD; recreate the container to change "
               "them";
  if (wanted.unified_size() != 0 && !same.Equals(wanted, current))
    for (const auto& [key, value] : wanted.unified())
      if (current.unified().count(key) == 0 || current.unified().at(key) != value)
        return "unified cgroup setting '" + key + "' has no LXD key lxe can apply live";
  return "";
}

}  // namespace lxe::cri
