// Small system helpers shared by the lxe-init modes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "init/fd.h"

namespace lxe::init {

// Nanoseconds since the Unix epoch (wall clock), as CRI timestamps are.
int64_t now_ns();

// Prints "lxe-init: <text>" on stderr (the LXC console when we are PID 1).
void message(std::string_view text);

// Writes all of `data`; false on an error (errno set).
bool write_all(int fd, std::string_view data);

// Replaces `path` with `content` so that a reader sees the old file or the whole new one, never a
// part, even after a crash: `<path>.tmp`, fsync, rename, fsync of the directory. Throws
// std::system_error.
void write_file_atomically(const std::string& path, std::string_view content);

// Makes sure fds 0, 1 and 2 are open (on /dev/null if they were closed), so that files we open
// later never land on them and our messages never go into them.
void ensure_standard_fds();

// Blocks `signals` and returns a non-blocking signalfd that receives them. Blocked signals are
// queued even for PID 1 of a PID namespace, which otherwise drops signals it has no handler for.
Fd block_signals_into_fd(std::initializer_list<int> signals);

// Reads the next pending signal from a signalfd made by block_signals_into_fd; 0 when none is.
int next_signal(int signal_fd);

// For a freshly forked child, before exec: no blocked signal and every disposition at its default
// (SIG_IGN survives exec, and a workload must not inherit our choices).
void reset_signals_for_child();

// Outside of a container (tests, debugging) we are not PID 1: become a child subreaper so that the
// workload's orphans are still reparented to us and reaped here, as they are for PID 1.
void become_subreaper_unless_pid1();

// The shell convention: the exit status, or 128 + the signal that killed the process.
struct ExitStatus {
  int exit_code = 0;
  int signal = 0;  // 0 when the process exited by itself
};
ExitStatus decode_wait_status(int status);

// Sends `signal` to the process group led by `pid`, or to `pid` alone when it has no group (yet).
void signal_group(pid_t pid, int signal);

// SIGKILLs every descendant of ours (found through /proc) and reaps them, until none is left. For
// lxe-init when it is not PID 1 (the pod's or the host's PID namespace): the kernel then does not
// end the container's processes with us.
void kill_descendants();

// SIGKILLs every other process the container has, without reaping any (the caller's SIGCHLD
// handling reaps them and learns how its own child ended): as PID 1 of a PID namespace, every
// process in it; otherwise every descendant of ours (the pod's or the host's PID namespace is not
// ours to empty).
void kill_container_processes();

// strerror(error) as a string ("No such file or directory" for ENOENT).
std::string errno_text(int error);

}  // namespace lxe::init
