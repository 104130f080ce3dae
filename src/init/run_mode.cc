// `lxe-init run SPEC`: PID 1 of a CRI container.
//
// The workload runs as our child, in a process group of its own, with stdout and stderr on pipes
// that we turn into the kubelet log. One thread, one poll() loop over the two pipes and a signalfd:
// no signal handlers, so no async-signal-safety questions and no lost SIGCHLD.
//
// Stop requests (SIGTERM from `kill 1`, SIGPWR from `lxc stop`, SIGINT, SIGHUP) become the spec's
// stop_signal sent to the workload's whole process group, like dumb-init does: a shell that runs
// the real program as a child (`sh -c 'prog; cleanup'`) does not forward signals, and the program
// must still get the chance to stop cleanly. A program that traps the signal and stops its own
// children still works; they just get the signal twice.
//
// When the workload exits we write the exit record and exit with its code. As PID 1, our exit
// makes the kernel kill whatever else still runs in the container.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>

#include "init/child.h"
#include "init/cri_log.h"
#include "init/modes.h"
#include "init/spec.h"
#include "init/sys.h"

namespace lxe::init {
namespace {

// The exit code of lxe-init itself when the workload could not be started at all.
constexpr int kSetupFailed = 2;
// Exit codes of the forked child before exec, as a shell would use them.
constexpr int kChildSetupFailed = 128;
constexpr int kCannotExec = 127;
// How long output is still collected after the workload exits: a background process it left
// behind may hold the pipes open for ever.
constexpr auto kDrainLimit = std::chrono::seconds(1);

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void write_json_file(const std::string& path, const nlohmann::json& value) {
  try {
    write_file_atomically(path, value.dump() + "\n");
  } catch (const std::exception& e) {
    // Nothing better to do: lxe will see the container stopped without a record.
    message(e.what());
  }
}

void write_exit_record(const std::string& exit_path, ExitStatus status, int64_t started_at,
                       int64_t finished_at, bool oom_killed = false) {
  if (exit_path.empty()) return;
  write_json_file(exit_path, {{"exit_code", status.exit_code},
                              {"signal", status.signal},
                              {"oom_killed", oom_killed},
                              {"started_at", started_at},
                              {"finished_at", finished_at}});
}

// The kernel's count of OOM kills in our cgroup (the container's, through LXD's cgroup
// namespace): cgroup v2's memory.events, else v1's memory.oom_control. -1 when neither can be read
// (no cgroup filesystem visible in the container).
int64_t oom_kill_count() {
  for (const char* path : {"/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"}) {
    std::ifstream events(path);
    std::string key;
    int64_t value = 0;
    while (events >> key >> value)
      if (key == "oom_kill") return value;
  }
  return -1;
}

std::string started_record_path(const std::string& exit_path) {
  return (std::filesystem::path(exit_path).parent_path() / "started.json").string();
}

// Everything the forked child needs, built before fork so that the child only makes system calls.
struct ChildPlan {
  const Spec& spec;
  std::vector<std::string> candidates;
  std::vector<char*> argv;
  std::vector<char*> envp;
  int stdin_fd;
  int stdout_fd;
  int stderr_fd;
};

// In the child, after stderr is the log pipe: the message lands in the container log, where the
// user looks first.
[[noreturn]] void child_fail(int code, const std::string& text) {
  message(text);
  ::_exit(code);
}

[[noreturn]] void exec_child(const ChildPlan& plan) {
  // Its own process group, so that a stop signal reaches the workload's children too.
  ::setpgid(0, 0);
  reset_signals_for_child();
  if (::dup2(plan.stdin_fd, STDIN_FILENO) < 0 || ::dup2(plan.stdout_fd, STDOUT_FILENO) < 0 ||
      ::dup2(plan.stderr_fd, STDERR_FILENO) < 0)
    ::_exit(kChildSetupFailed);
  // Whatever fds LXC left open to us are none of the workload's business.
  ::close_range(3, ~0U, 0);

  const Spec& spec = plan.spec;
  if (auto error = enter_identity_and_cwd(spec)) child_fail(kChildSetupFailed, *error);
  // execvpe would search the PATH of our own environment, not of the workload's: search here.
  const int error = exec_first(plan.candidates, plan.argv.data(), plan.envp.data());
  child_fail(kCannotExec, "cannot run " + spec.args[0] + ": " + errno_text(error));
}

class Supervisor {
 public:
  Supervisor(const Spec& spec, Fd signals) : spec_(spec), signals_(std::move(signals)), log_(spec.log_path) {}
  ~Supervisor() {
    // Only after an error in our own loop: do not leave a workload running that lxe will be told
    // has exited.
    if (child_ > 0 && !child_status_) {
      signal_group(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
  }
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  int run() {
    start_child();
    while (!child_status_) wait_for_events(-1);
    drain_output();
    const ExitStatus status = decode_wait_status(*child_status_);
    // Killed by SIGKILL while the cgroup's OOM-kill count went up: the kernel's OOM killer did it.
    const int64_t ooms_after = oom_kill_count();
    const bool oom_killed = status.signal == SIGKILL && ooms_before_ >= 0 && ooms_after > ooms_before_;
    write_exit_record(spec_.exit_path, status, started_at_, finished_at_, oom_killed);
    // As PID 1 our exit kills everything left in the container. Outside of one (tests), do the
    // same at least for the workload's process group, instead of leaving its orphans behind. No
    // fallback to the pid itself here: it has been reaped and may belong to someone else now.
    if (::getpid() != 1) ::kill(-child_, SIGKILL);
    return status.exit_code;
  }

 private:
  struct Output {
    const char* stream;
    Fd fd;
    LineSplitter splitter;
  };

  void start_child() {
    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw_errno("cannot create a pipe");
    outputs_[0].fd.reset(out_pipe[0]);
    Fd out_write(out_pipe[1]);
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) throw_errno("cannot create a pipe");
    outputs_[1].fd.reset(err_pipe[0]);
    Fd err_write(err_pipe[1]);
    Fd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!dev_null.valid()) throw_errno("cannot open /dev/null");

    if (spec_.hostname && ::sethostname(spec_.hostname->data(), spec_.hostname->size()) != 0)
      throw_errno("cannot set the hostname to " + *spec_.hostname);

    const ChildPlan plan{spec_,          exec_candidates(spec_.args[0], spec_.search_path()), c_strings(spec_.args), c_strings(spec_.env),
                         dev_null.get(), out_write.get(),        err_write.get()};
    child_ = ::fork();
    if (child_ < 0) throw_errno("cannot fork");
    if (child_ == 0) exec_child(plan);
    // Also from this side, so that the group exists before the child gets to it: a stop signal
    // right now must reach it.
    ::setpgid(child_, child_);
    started_at_ = now_ns();
    ooms_before_ = oom_kill_count();
    if (!spec_.exit_path.empty())
      write_json_file(started_record_path(spec_.exit_path), {{"started_at", started_at_}, {"pid", child_}});
    // out_write and err_write close here: once the workload's copies close, we see EOF.
  }

  // Waits up to `timeout_ms` (-1: for ever) and handles whatever is ready.
  void wait_for_events(int timeout_ms) {
    pollfd fds[3];
    Output* owners[3] = {nullptr, nullptr, nullptr};
    nfds_t n = 0;
    fds[n++] = {signals_.get(), POLLIN, 0};
    for (auto& out : outputs_) {
      if (!out.fd.valid()) continue;
      owners[n] = &out;
      fds[n++] = {out.fd.get(), POLLIN, 0};
    }
    if (::poll(fds, n, timeout_ms) < 0) {
      if (errno == EINTR) return;
      throw_errno("poll failed");
    }
    if (fds[0].revents != 0) handle_signals();
    for (nfds_t i = 1; i < n; ++i)
      if (fds[i].revents != 0) read_output(*owners[i]);
  }

  void handle_signals() {
    while (const int sig = next_signal(signals_.get())) {
      switch (sig) {
        case SIGCHLD:
          reap_children();
          break;
        case SIGUSR1:
          reopen_log();
          break;
        default:  // SIGTERM, SIGINT, SIGPWR, SIGHUP: stop the container
          if (!child_status_) signal_group(child_, spec_.stop_signal);
      }
    }
  }

  // As PID 1 (or subreaper) we inherit every orphan of the workload: reap them all, and note when
  // the workload itself is done.
  void reap_children() {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid == child_) {
        child_status_ = status;
        finished_at_ = now_ns();
      }
    }
  }

  void reopen_log() {
    try {
      log_.reopen();
    } catch (const std::exception& e) {
      message(e.what());
    }
  }

  LineSplitter::Sink sink_for(const Output& out, int64_t timestamp) {
    return [this, &out, timestamp](char tag, std::string_view content) {
      log_.write(cri_record(timestamp, out.stream, tag, content));
    };
  }

  void read_output(Output& out) {
    char buf[64 * 1024];
    const ssize_t n = ::read(out.fd.get(), buf, sizeof buf);
    if (n > 0) {
      out.splitter.feed(std::string_view(buf, static_cast<size_t>(n)), sink_for(out, now_ns()));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      close_output(out);
    }
  }

  void close_output(Output& out) {
    if (!out.fd.valid()) return;
    out.splitter.finish(sink_for(out, now_ns()));
    out.fd.reset();
  }

  // The workload has exited: collect what it wrote last, until the pipes close or for at most
  // kDrainLimit. Orphans are still reaped meanwhile.
  void drain_output() {
    const auto deadline = std::chrono::steady_clock::now() + kDrainLimit;
    while (outputs_[0].fd.valid() || outputs_[1].fd.valid()) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      wait_for_events(static_cast<int>(left.count()));
    }
    for (auto& out : outputs_) close_output(out);
  }

  const Spec& spec_;
  Fd signals_;
  LogFile log_;
  Output outputs_[2] = {{"stdout", Fd(), LineSplitter()}, {"stderr", Fd(), LineSplitter()}};
  pid_t child_ = -1;
  std::optional<int> child_status_;
  int64_t started_at_ = 0;
  int64_t finished_at_ = 0;
  int64_t ooms_before_ = -1;
};

}  // namespace

int run_container(const std::string& spec_path) {
  // Block the signals before anything else: a stop request that comes while we set up waits in the
  // signalfd and is handled as soon as the workload runs, instead of killing us half-way.
  Fd signals = block_signals_into_fd({SIGCHLD, SIGTERM, SIGINT, SIGPWR, SIGHUP, SIGUSR1});
  become_subreaper_unless_pid1();

  Spec spec;
  try {
    spec = load_spec(spec_path);
  } catch (const SpecError& e) {
    message(e.what());
    write_exit_record(e.exit_path(), {kSetupFailed, 0}, 0, now_ns());
    return kSetupFailed;
  }
  // A record left by an earlier run of this container would describe a run that is not this one.
  if (!spec.exit_path.empty()) ::unlink(spec.exit_path.c_str());

  try {
    Supervisor supervisor(spec, std::move(signals));
    return supervisor.run();
  } catch (const std::exception& e) {
    message(e.what());
    write_exit_record(spec.exit_path, {kSetupFailed, 0}, 0, now_ns());
    return kSetupFailed;
  }
}

}  // namespace lxe::init
