// Finding LXD's socket from lxc's client configuration (config.yml), as LXE's
// --lxd-remote-config did. lxe talks to LXD over its unix socket only.
#pragma once

#include <string>
#include <variant>

#include "images/lxd_remote.h"

namespace lxe::daemon {

struct RemoteConfigError {
  std::string message;
};

// The unix socket path of the config's default remote. `unix://` (no path) means LXD's default
// socket, returned as an empty string for the caller to resolve.
std::variant<std::string, RemoteConfigError> lxd_socket_from_remote_config(const std::string& path);

// The same, from the file's text (for tests).
std::variant<std::string, RemoteConfigError> lxd_socket_from_remote_config_text(const std::string& text,
                                                                                 const std::string& path);

// The image servers of lxc's config (remotes other than unix:// ones, with protocol
// "simplestreams" or "lxd"), each with its certificate from servercerts/<name>.crt next to the
// file when there is one. lxe's LXD downloads images from them (PullImage of "<remote>:<alias>").
std::variant<images::LxdRemotes, RemoteConfigError> lxd_remotes_from_config(const std::string& path);
std::variant<images::LxdRemotes, RemoteConfigError> lxd_remotes_from_config_text(const std::string& text,
                                                                                const std::string& path);

}  // namespace lxe::daemon
