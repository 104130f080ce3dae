// Running a helper program (a CNI plugin, skopeo, umoci, tar) from lxe's threads and collecting
// what it printed, with a deadline.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace lxe {

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is the program: a path, or a name looked up in PATH
  std::vector<std::string> env;   // the whole environment ("K=V")
  std::string input;              // written to its stdin, which is then closed
  std::chrono::milliseconds timeout{60000};
  // File descriptors handed to the program as 3, 4, ... in this order (an in-memory secret
  // file, say); lxe's own descriptors are never inherited.
  std::vector<int> pass_fds;
  // Its own process group, killed as a whole at the deadline (a program that runs others).
  bool own_process_group = false;
};

struct ProcessExit {
  int status = -1;  // waitpid's status
  bool timed_out = false;
  std::string out;
  std::string err;

  bool succeeded() const;  // exited on its own with code 0
  // "exit code N", "killed by signal N", or "did not finish in time": for messages.
  std::string describe() const;
  // stderr (or stdout when stderr is empty), trimmed: what the program said about its failure.
  std::string said() const;
};

// Runs the program and waits until it exits or `timeout` passes (then it is killed with SIGKILL,
// its group too when it has one, and timed_out is set). The program starts with no signal blocked
// and SIGPIPE at its default. Throws std::runtime_error only when it cannot be started.
ProcessExit run_process(const ProcessSpec& spec);

}  // namespace lxe
