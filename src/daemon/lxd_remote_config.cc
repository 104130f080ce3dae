#include "daemon/lxd_remote_config.h"

#include <fstream>
#include <map>
#include <sstream>

namespace lxe::daemon {
namespace {

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  s = s.substr(b, e - b + 1);
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front())
    s = s.substr(1, s.size() - 2);
  return s;
}

size_t indent_of(const std::string& line) { return line.find_first_not_of(' '); }

}  // namespace

// lxc's config.yml is a small, flat YAML file written by lxc itself:
//   default-remote: local
//   remotes:
//     local:
//       addr: unix://
// Reading it line by line is enough; a full YAML parser would be another dependency.
std::variant<std::string, RemoteConfigError> lxd_socket_from_remote_config_text(const std::string& text,
                                                                                 const std::string& path) {
  std::string default_remote = "local";
  std::map<std::string, std::string> remote_addrs;  // remote name -> addr
  bool in_remotes = false;
  size_t remote_indent = std::string::npos;
  std::string current_remote;

  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const std::string content = trim(line);
    if (content.empty() || content[0] == '#') continue;
    const size_t indent = indent_of(line);
    if (indent == 0) {
      if (line.rfind("default-remote:", 0) == 0) default_remote = trim(line.substr(15));
      in_remotes = line.rfind("remotes:", 0) == 0;
      remote_indent = std::string::npos;
      continue;
    }
    if (!in_remotes) continue;
    if (remote_indent == std::string::npos || indent <= remote_indent) {
      // A remote's name: the first indented key level under "remotes:".
      remote_indent = indent;
      current_remote = trim(content.substr(0, content.find(':')));
      remote_addrs[current_remote];
    } else if (content.rfind("addr:", 0) == 0) {
      remote_addrs[current_remote] = trim(content.substr(5));
    }
  }

  const auto it = remote_addrs.find(default_remote);
  if (it == remote_addrs.end())
    return RemoteConfigError{path + ": default remote '" + default_remote + "' is not among its remotes"};
  const std::string& addr = it->second;
  if (addr.rfind("unix://", 0) != 0)
    return RemoteConfigError{path + ": default remote '" + default_remote + "' is at '" + addr +
                             "', but lxe only talks to LXD over its unix socket (use --lxd-socket)"};
  return addr.substr(7);
}

std::variant<std::string, RemoteConfigError> lxd_socket_from_remote_config(const std::string& path) {
  std::ifstream file(path);
  if (!file) return RemoteConfigError{"cannot read --lxd-remote-config " + path};
  std::stringstream text;
  text << file.rdbuf();
  return lxd_socket_from_remote_config_text(text.str(), path);
}

}  // namespace lxe::daemon
