// How a CRI exec runs in a container: through lxe-init's exec mode, which gives the command the
// container's identity (spec.json) and, for ExecSync, a timeout.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lxe::cri {

// `lxe-init exec --timeout <timeout> [--spec <state dir>/spec.json] -- <cmd...>`; timeout 0 is
// none.
std::vector<std::string> lxe_init_exec_command(int64_t timeout, bool with_spec, const std::vector<std::string>& cmd);

}  // namespace lxe::cri
