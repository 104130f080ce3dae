// CRI's CONTAINER PID mode: the workload is PID 1 of a PID namespace of its own, as runc makes it,
// while lxe-init stays PID 1 of the LXD container around it (log, exit code, attach). Execs join
// the workload's namespaces so that they see what it sees.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace lxe::init {

// In the parent, right before its one fork: the next child is PID 1 of a new PID namespace. Our
// own namespace stays; only children are affected. Throws std::system_error.
void new_pid_namespace_for_child();

// For an exec: joins the mount namespace of the workload `pid` and, with `pid_namespace`, its PID
// namespace (which takes effect for our next child). The error as a sentence, if any. A process
// that is gone (a record of an earlier run) is no error: nothing is joined.
std::optional<std::string> join_workload_namespaces(pid_t pid, bool pid_namespace);

// The workload's PID as lxe-init run recorded it (started.json next to `exit_path`); nullopt when
// there is no such record.
std::optional<pid_t> recorded_workload_pid(const std::string& exit_path);

}  // namespace lxe::init
