#include "cri/validation.h"

#include <cstdio>
#include <filesystem>

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

std::string env_name_problem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (auto problem = control_character_problem(name); !problem.empty()) return problem;
  if (name.find('=') != std::string_view::npos) return "contains '='";
  return "";
}

std::string cpuset_problem(std::string_view cpus) {
  if (cpus.find_first_not_of("0123456789,-") != std::string_view::npos)
    return "is not a list of CPU numbers and ranges such as '0-3,8'";
  return "";
}

std::string resources_problem(const runtime::v1::LinuxContainerResources& r) {
  if (auto p = cpuset_problem(r.cpuset_cpus()); !p.empty()) return "cpuset_cpus " + quoted_for_message(r.cpuset_cpus()) + " " + p;
  if (auto p = cpuset_problem(r.cpuset_mems()); !p.empty()) return "cpuset_mems " + quoted_for_message(r.cpuset_mems()) + " " + p;
  return "";
}

std::string mount_problem(const runtime::v1::Mount& m, int index) {
  const std::string which = "mounts[" + std::to_string(index) + "]";
  if (auto p = control_character_problem(m.host_path()); !p.empty())
    return which + ".host_path " + quoted_for_message(m.host_path()) + " " + p;
  if (auto p = control_character_problem(m.container_path()); !p.empty())
    return which + ".container_path " + quoted_for_message(m.container_path()) + " " + p;
  // Named by where it goes in the container, which is what a pod's author wrote.
  const std::string at = which + (m.container_path().empty() ? "" : " (at " + m.container_path() + ")");
  if (m.has_image() && !m.image().image().empty())
    return at + " is an image volume (" + quoted_for_message(m.image().image()) + "), which lxe does not support";
  if (m.container_path().empty()) return which + ".container_path is empty";
  if (m.container_path().front() != '/')
    return at + ": container_path " + quoted_for_message(m.container_path()) + " is not an absolute path";
  if (std::filesystem::path(m.container_path()).lexically_normal() == "/")
    return at + ": container_path " + quoted_for_message(m.container_path()) +
           " is the container's root, which a volume cannot replace";
  if (m.host_path().empty()) return at + ": host_path is empty";
  if (m.host_path().front() != '/')
    return at + ": host_path " + quoted_for_message(m.host_path()) + " is not an absolute path";
  if (m.recursive_read_only() && !m.readonly())
    return at + ": recursive_read_only needs readonly (a recursively read-only mount that is writable)";
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
  }
  for (int i = 0; i < config.mounts_size(); ++i)
    if (auto p = mount_problem(config.mounts(i), i); !p.empty()) return p;
  if (auto p = field("log_path", config.log_path(), control_character_problem(config.log_path())); !p.empty())
    return p;
  if (config.has_linux() && config.linux().has_resources()) return resources_problem(config.linux().resources());
  return "";
}

}  // namespace lxe::cri
