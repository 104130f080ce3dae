// lxe's side of CRI Attach: a connection to the attach socket lxe-init keeps in the container's
// state directory (common/attach_protocol.h), and one session over it between the streaming
// client's streams and lxe-init. lxe keeps no attach state of its own: lxe-init owns the
// workload's stdin, terminal and output, so attaching works the same after an lxe restart.
#pragma once

#include <string>
#include <variant>

#include "common/attach_socket.h"
#include "common/unique_fd.h"
#include "streaming/runtime.h"
#include "streaming/session_io.h"

namespace lxe::cri {

// Runs one attach session over `socket` until lxe-init ends it (the workload exited, or this
// client's stdin ended and the container does not keep stdin) or the client goes away. As
// containerd's, an attach that ends normally is a success whatever the workload's exit code.
streaming::SessionOutcome run_attach_session(UniqueFd socket, streaming::SessionIo& io);

}  // namespace lxe::cri
