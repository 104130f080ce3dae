#include "daemon/lxd_remote_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace lxe::daemon {

// lxc's config.yml, as lxc writes it:
//   default-remote: local
//   remotes:
//     local:
//       addr: unix://
// A missing default-remote means "local", as for lxc.
namespace {

// The file's YAML mapping, or why it is none.
std::variant<YAML::Node, RemoteConfigError> load_mapping(const std::string& text, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return RemoteConfigError{path + ": not valid YAML: " + e.what()};
  }
  if (!root.IsMap()) return RemoteConfigError{path + ": expected a YAML mapping with 'remotes'"};
  return root;
}

std::variant<std::string, RemoteConfigError> read_config_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) return RemoteConfigError{"cannot read --lxd-remote-config " + path};
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

std::variant<std::string, RemoteConfigError> lxd_socket_from_remote_config_text(const std::string& text,
                                                                                 const std::string& path) {
  auto loaded = load_mapping(text, path);
  if (auto* error = std::get_if<RemoteConfigError>(&loaded)) return *error;
  const YAML::Node root = std::get<YAML::Node>(loaded);

  std::string default_remote = "local";
  std::string addr;
  try {
    if (const auto name = root["default-remote"]; name && !name.IsNull()) default_remote = name.as<std::string>();
    const auto remote = root["remotes"][default_remote];
    if (!remote || !remote.IsMap())
      return RemoteConfigError{path + ": default remote '" + default_remote + "' is not among its remotes"};
    if (const auto a = remote["addr"]; a && !a.IsNull()) addr = a.as<std::string>();
  } catch (const YAML::Exception& e) {
    return RemoteConfigError{path + ": unexpected shape: " + e.what()};
  }
  if (addr.rfind("unix://", 0) != 0)
    return RemoteConfigError{path + ": default remote '" + default_remote + "' is at '" + addr +
                             "', but lxe only talks to LXD over its unix socket (use --lxd-socket)"};
  return addr.substr(7);
}

std::variant<std::string, RemoteConfigError> lxd_socket_from_remote_config(const std::string& path) {
  auto text = read_config_file(path);
  if (auto* error = std::get_if<RemoteConfigError>(&text)) return *error;
  return lxd_socket_from_remote_config_text(std::get<std::string>(text), path);
}

std::variant<images::LxdRemotes, RemoteConfigError> lxd_remotes_from_config_text(const std::string& text,
                                                                                const std::string& path) {
  auto loaded = load_mapping(text, path);
  if (auto* error = std::get_if<RemoteConfigError>(&loaded)) return *error;
  const YAML::Node root = std::get<YAML::Node>(loaded);
  images::LxdRemotes remotes;
  const auto certs = std::filesystem::path(path).parent_path() / "servercerts";
  try {
    const auto list = root["remotes"];
    if (!list) return remotes;
    if (!list.IsMap()) return RemoteConfigError{path + ": 'remotes' is not a mapping"};
    for (const auto& entry : list) {
      images::LxdRemote remote;
      remote.name = entry.first.as<std::string>();
      const auto& fields = entry.second;
      if (!fields.IsMap()) continue;
      if (const auto a = fields["addr"]; a && !a.IsNull()) remote.addr = a.as<std::string>();
      remote.protocol = "lxd";  // lxc's default
      if (const auto p = fields["protocol"]; p && !p.IsNull()) remote.protocol = p.as<std::string>();
      if (remote.addr.rfind("unix:", 0) == 0 || remote.addr.empty()) continue;
      if (remote.protocol != "simplestreams" && remote.protocol != "lxd") continue;
      std::ifstream cert(certs / (remote.name + ".crt"));
      if (cert) {
        std::stringstream pem;
        pem << cert.rdbuf();
        remote.certificate = pem.str();
      }
      remotes[remote.name] = remote;
    }
  } catch (const YAML::Exception& e) {
    return RemoteConfigError{path + ": unexpected shape: " + e.what()};
  }
  return remotes;
}

std::variant<images::LxdRemotes, RemoteConfigError> lxd_remotes_from_config(const std::string& path) {
  auto text = read_config_file(path);
  if (auto* error = std::get_if<RemoteConfigError>(&text)) return *error;
  return lxd_remotes_from_config_text(std::get<std::string>(text), path);
}

}  // namespace lxe::daemon
