// The lxe daemon: wires the layers together and serves CRI on a unix socket until asked to stop.
#pragma once

#include <memory>

#include "daemon/flags.h"

namespace lxe::daemon {

// Runs lxe with `options` until SIGTERM or SIGINT. Returns the process exit code; prints one
// "lxe: error: ..." line to stderr for a failure to start.
int run_daemon(const Options& options);

}  // namespace lxe::daemon
