// Finding and connecting to a container's attach socket (<state dir>/attach.sock, where its
// lxe-init listens: attach_protocol.h), for CRI Attach and for stopping the workload.
#pragma once

#include <string>
#include <variant>

#include "common/unique_fd.h"

namespace lxe::attach {

// Whether `path` is a socket (not following a symlink): lxe-init listens there while it runs.
bool attach_socket_exists(const std::string& path);

// A connection to the socket at `path` (a host path, possibly longer than a socket address
// allows), or why there is none. The container owns the directory and could put a symlink there
// to a socket of the host's: the socket is opened without following links and connected to
// through /proc/self/fd, so lxe only ever connects to a socket that is in that directory.
std::variant<UniqueFd, std::string> connect_attach_socket(const std::string& path);

}  // namespace lxe::attach
