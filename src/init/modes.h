// The ways lxe starts lxe-init; each returns the process's exit code.
#pragma once

#include <string>
#include <vector>

namespace lxe::init {

// `lxe-init run SPEC`: PID 1 of a CRI container (see run_mode.cc).
int run_container(const std::string& spec_path);

// `lxe-init pause`: PID 1 of a pod sandbox's infra container: sleeps, reaps, stops on request.
int pause_forever();

// `lxe-init exec --timeout SECONDS -- ARGV...`: ExecSync's command through LXD's exec API.
// `args` are the words after "exec".
int exec_command(const std::vector<std::string>& args);

// `lxe-init ifup NAME ADDRESS/PREFIX GATEWAY`: in a namespace holder, gives a re-plugged pod NIC
// its address, brings it up and adds the default route (see ifup_mode.cc).
int interface_up(const std::vector<std::string>& args);

}  // namespace lxe::init
