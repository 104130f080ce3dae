// lxe's side of CRI Attach: a connection to the attach socket lxe-init keeps in the container's
// state directory (common/attach_protocol.h), and one session over it between the streaming
// client's streams and lxe-init. lxe keeps no attach state of its own: lxe-init owns the
// workload's stdin, terminal and output, so attaching works the same after an lxe restart.
#pragma once

#include <string>
#include <variant>

#include "common/unique_fd.h"
#include "streaming/runtime.h"
#include "streaming/session_io.h"

namespace lxe::cri {

// Whether `path` is a socket (not following a symlink): lxe-init listens there while it runs.
bool attach_socket_exists(const std::string& path);

// A connection to the socket at `path` (a host path, possibly longer than a socket address
// allows), or why there is none. The container owns the directory and could put a symlink there
// to a socket of the host's: the socket is opened without following links and connected to
// through /proc/self/fd, so lxe only ever connects to a socket that is in that directory.
std::variant<UniqueFd, std::string> connect_attach_socket(const std::string& path);

// Runs one attach session over `socket` until lxe-init ends it (the workload exited, or this
// client's stdin ended and the container does not keep stdin) or the client goes away. As
// containerd's, an attach that ends normally is a success whatever the workload's exit code.
streaming::SessionOutcome run_attach_session(UniqueFd socket, streaming::SessionIo& io);

}  // namespace lxe::cri
