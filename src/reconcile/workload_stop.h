// StopContainer's fast path: asking a container's lxe-init to stop its workload over the attach
// socket (common/attach_protocol.h's Stop), instead of LXD's stop call. lxe-init sends the stop
// signal, SIGKILLs what is left when the grace period is over, writes the exit record and answers
// Exit; then it exits and LXD tears the instance down by itself, off the CRI caller's path.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace lxe::reconcile {

struct WorkloadStop {
  enum class Result {
    Stopped,      // Exit came: the workload is dead and its exit record written
    Unsupported,  // lxe-init did not take the Stop (one from before Stop): stop through LXD
    Unreachable,  // no socket, or it refused the connection (lxe-init gone, or not lxe-init)
    Lost,         // lxe-init took the Stop, then closed without Exit, or no Exit in time
  };
  Result result = Result::Unreachable;
  int32_t exit_code = 0;  // Stopped
  pid_t init_pid = 0;     // lxe-init's PID on the host (the socket's peer), 0 when unknown
  std::string detail;     // why not, for the log
};

struct WorkloadStopTimes {
  // How long lxe-init gets to answer Stopping (it answers at once; an old one never does).
  std::chrono::milliseconds answer{1000};
  // Beyond the grace period: lxe-init's own kill, then up to 1 s of draining the output.
  std::chrono::milliseconds slack{10000};
};

// Sends Stop with `grace_seconds` to the lxe-init listening at `socket_path` (a host path) and
// waits for Exit. Never throws.
WorkloadStop stop_workload(const std::string& socket_path, uint32_t grace_seconds, WorkloadStopTimes times = {});

}  // namespace lxe::reconcile
