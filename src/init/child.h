// What a forked child of lxe-init does between fork and exec, shared by `run` (the workload) and
// `exec` (CRI ExecSync): take the container's identity and working directory, then look the
// program up in the workload's PATH. Everything here is meant for the child side of a fork: plain
// system calls, errors returned as text (the caller prints it and _exits).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "init/spec.h"

namespace lxe::init {

// The paths execve tries for `program`, in order: as given when it has a '/', else in each
// directory of `search_path` (an empty entry is the working directory, as for execvp).
std::vector<std::string> exec_candidates(const std::string& program, const std::string& search_path);

// chdir to spec.cwd and switch to spec.uid/spec.gid (dropping root's supplementary groups). Like
// runc, the directory is tried first as root (it may be readable only by root) and again as the
// user (root may be refused on a root-squashed mount). The error, if any, as a sentence.
std::optional<std::string> enter_identity_and_cwd(const Spec& spec);

// execve of the first candidate that exists; returns only on failure, with the errno to report
// (EACCES only when no later candidate has the program, as execvp does).
int exec_first(const std::vector<std::string>& candidates, char* const argv[], char* const envp[]);

// argv/envp arrays pointing into `strings` (which must outlive them), NULL-terminated.
std::vector<char*> c_strings(const std::vector<std::string>& strings);

}  // namespace lxe::init
