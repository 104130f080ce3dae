// The lxe daemon under test: started from the bench's main thread (so that PR_SET_PDEATHSIG, which
// follows the thread that forked, takes it down with the bench), in a process group of its own (a
// Ctrl-C in the terminal reaches the bench, which cleans up through lxe, and not lxe itself).
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include <grpcpp/grpcpp.h>

namespace lxe::bench {

// A channel of its own (no subchannel shared with other channels of this process), so that N
// clients are N connections, as N kubelets would be.
std::shared_ptr<grpc::Channel> make_channel(const std::string& unix_socket);

// Whether something accepts connections on `path` now.
bool accepts_connections(const std::string& path);

struct Memory {
  int64_t rss_kb = 0;  // VmRSS
  int64_t hwm_kb = 0;  // VmHWM: peak RSS since the process started
  int64_t anon_kb = 0;  // RssAnon: heap, stacks
  int64_t file_kb = 0;  // RssFile: mapped files (the binary, shared libraries)
};

// CPU time of a process (all its live threads), in seconds.
double cpu_seconds(pid_t pid);

Memory memory_of(pid_t pid);

class LxeProcess {
 public:
  struct Config {
    std::string binary;
    std::string socket;
    std::string db;
    std::string lxd_socket;
    std::string prefix;   // --lxd-name-prefix
    std::string log_dir;  // stderr of each start goes to <log_dir>/lxe.<n>.log
    // LXE_TEST_MARK for lxe: every LXD object it makes carries user.lxe.test-pid=<mark> (the
    // bench's PID), so that a later run can tell the leftovers of a killed run (docs/benchmarks.md).
    std::string mark;
    std::vector<std::string> extra_args;  // more flags for lxe (--registries-conf ...)
  };

  explicit LxeProcess(Config config) : config_(std::move(config)) {}
  ~LxeProcess();  // SIGTERM, then SIGKILL
  LxeProcess(const LxeProcess&) = delete;
  LxeProcess& operator=(const LxeProcess&) = delete;

  // Spawns lxe and returns at once. Throws std::runtime_error when it cannot be spawned.
  void spawn(const std::string& log_level = "info");
  // Waits until the CRI socket answers Version; throws std::runtime_error (with the end of lxe's
  // log) if lxe exits or does not answer in time.
  void wait_serving(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void start(const std::string& log_level = "info") {
    spawn(log_level);
    wait_serving();
  }

  // Sends `signal` and waits for the exit (SIGKILL after `timeout`). Drops the shared channel
  // first: lxe's graceful shutdown waits for connected clients.
  void stop(int signal = SIGTERM, std::chrono::milliseconds timeout = std::chrono::seconds(20));

  bool running();
  pid_t pid() const { return pid_; }
  const Config& config() const { return config_; }
  const std::string& log_path() const { return log_path_; }
  std::string log_tail(size_t max_chars = 3000) const;

  // A channel to the CRI socket, shared by whoever asks (created once the socket answers).
  std::shared_ptr<grpc::Channel> channel();

 private:
  Config config_;
  pid_t pid_ = -1;
  int starts_ = 0;
  std::string log_path_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace lxe::bench
