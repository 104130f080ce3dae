// Running the lxe binaries from tests: one-shot commands with their output, and an lxe daemon that
// lives for the length of a test.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "runtime/v1/api.grpc.pb.h"
#include "support/temp_dir.h"

namespace lxe::test {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] is the program path), waits at most `timeout`, kills it after that.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Lines of `text` without the empty ones.
std::vector<std::string> non_empty_lines(const std::string& text);

// An lxe daemon on a socket and store of its own in a temporary directory.
class DaemonProcess {
 public:
  // Starts `lxe` with --socket and --db in `dir` and `--network-plugin none` (unless `extra_args`
  // gives them) and waits until the CRI socket answers Version. Throws std::runtime_error with the daemon's stderr if it
  // exits or does not answer within `ready_timeout`.
  DaemonProcess(const TempDir& dir, std::vector<std::string> extra_args,
                std::chrono::milliseconds ready_timeout = std::chrono::seconds(20),
                std::vector<std::string> extra_env = {});
  ~DaemonProcess();  // SIGTERM, then SIGKILL after a grace period
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  const std::string& socket() const { return socket_; }
  pid_t pid() const { return pid_; }
  std::string stderr_text() const;

  runtime::v1::RuntimeService::Stub& runtime();
  runtime::v1::ImageService::Stub& images();

  // Sends `signal` and waits for the exit; returns the exit code (-1 for death by signal).
  int stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Waits up to `timeout` for the process to end by itself (a crash point); returns the signal
  // that killed it, 0 when it exited normally, -1 when it is still running.
  int wait_for_death(std::chrono::milliseconds timeout);

 private:
  std::string socket_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<runtime::v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<runtime::v1::ImageService::Stub> images_;
};

// A client context with a deadline, so that a hung daemon fails a test instead of hanging it.
std::unique_ptr<grpc::ClientContext> context_with_deadline(
    std::chrono::milliseconds deadline = std::chrono::seconds(30));

}  // namespace lxe::test
