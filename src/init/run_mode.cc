// `lxe-init run SPEC`: PID 1 of a CRI container.
//
// The workload runs as our child, in a process group of its own, with stdout and stderr on pipes
// that we turn into the kubelet log. One thread, one poll() loop over the two pipes and a signalfd:
// no signal handlers, so no async-signal-safety questions and no lost SIGCHLD.
//
// CRI's stdin and tty (spec.json's stdin, stdin_once, tty): with tty the workload runs on a
// terminal of its own (a new session, the pty's slave as its controlling terminal and its stdin,
// stdout and stderr); the master's output is the log's stdout. With stdin (and no tty) its stdin
// is a pipe we hold the other end of; without either it is /dev/null. Attach clients (lxe, for CRI
// Attach) connect to spec.attach_socket (attach_hub.h): they get the output too, write the stdin,
// resize the terminal. The socket listens for every container, stdin or not: attaching to the
// output alone is allowed too, as containerd allows it.
//
// Stop requests (SIGTERM from `kill 1`, SIGPWR from `lxc stop`, SIGINT, SIGHUP) become the spec's
// stop_signal sent to the workload's whole process group, like dumb-init does: a shell that runs
// the real program as a child (`sh -c 'prog; cleanup'`) does not forward signals, and the program
// must still get the chance to stop cleanly. A program that traps the signal and stops its own
// children still works; they just get the signal twice.
//
// lxe's StopContainer comes as a Stop frame on the attach socket (attach_protocol.h): the stop
// signal to the workload's process group, and when the grace period is over (at once for 0)
// SIGKILL to every process of the container. Once the workload has ended after a Stop, whatever
// else runs in the container is killed too before the exit record is written: a stopped container
// has no processes left, which is what CRI promises when StopContainer returns.
//
// When the workload exits we write the exit record and exit with its code. As PID 1, our exit
// makes the kernel kill whatever else still runs in the container.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>

#include "init/attach_hub.h"
#include "init/child.h"
#include "init/cri_log.h"
#include "init/modes.h"
#include "init/mount_policy.h"
#include "init/pid_namespace.h"
#include "init/poll_set.h"
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
// How long attach clients get to take the rest of the output and the exit code, after that.
constexpr auto kFlushLimit = std::chrono::seconds(1);
// Stdin bytes from attach clients that may wait for the workload to read them; beyond that the
// clients are not read (their bytes back up in the sockets, then in lxe).
constexpr size_t kInputQueued = 1 << 20;

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
// namespace): cgroup v2's memory.events, else v1's memory.oom_control. Where the container has no
// cgroup filesystem (LXC mounts none on a host whose unified hierarchy is not mounted), the host's
// count from /proc/vmstat: a kill while it rose is then taken for an OOM kill too, which another
// cgroup's OOM kill at the same moment would fool. -1 when none can be read.
int64_t oom_kill_count() {
  for (const char* path : {"/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control",
                           "/proc/vmstat"}) {
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
  const ProcessSetup& setup;  // identity, capabilities, seccomp (child.h)
  std::vector<std::string> candidates;
  std::vector<char*> argv;
  std::vector<char*> envp;
  int stdin_fd;
  int stdout_fd;
  int stderr_fd;
  bool terminal;  // stdin_fd is a pty slave: it becomes the controlling terminal of a new session
};

// In the child, after stderr is the log pipe: the message lands in the container log, where the
// user looks first.
[[noreturn]] void child_fail(int code, const std::string& text) {
  message(text);
  ::_exit(code);
}

[[noreturn]] void exec_child(const ChildPlan& plan) {
  if (plan.terminal) {
    // A session of its own with the terminal as its controlling one, as a login would have it:
    // job control works, and the terminal's signals (^C) reach the foreground group. The session's
    // process group is the workload's own, so a stop signal still reaches its children.
    if (::setsid() < 0 || ::ioctl(plan.stdin_fd, TIOCSCTTY, 0) != 0) ::_exit(kChildSetupFailed);
  } else {
    // Its own process group, so that a stop signal reaches the workload's children too.
    ::setpgid(0, 0);
  }
  reset_signals_for_child();
  if (::dup2(plan.stdin_fd, STDIN_FILENO) < 0 || ::dup2(plan.stdout_fd, STDOUT_FILENO) < 0 ||
      ::dup2(plan.stderr_fd, STDERR_FILENO) < 0)
    ::_exit(kChildSetupFailed);
  // Whatever fds LXC left open to us are none of the workload's business.
  ::close_range(3, ~0U, 0);

  const Spec& spec = plan.spec;
  // A mount namespace of the workload's own (with a /proc of its own PID namespace, if it has one),
  // where its security context's mounts go.
  // Without anything to mount, a refused unshare (lxe-init run unprivileged, in tests) is no loss.
  const bool mounts_needed = spec.new_pid_namespace || !spec.mounts.empty();
  if (auto error = enter_own_mount_namespace(spec.new_pid_namespace); error && mounts_needed)
    child_fail(kChildSetupFailed, *error);
  if (auto error = apply_mount_policy(spec.mounts)) child_fail(kChildSetupFailed, *error);
  if (auto error = enter_identity_and_cwd(spec, plan.setup)) child_fail(kChildSetupFailed, *error);
  if (auto error = apply_process_security(plan.setup)) child_fail(kChildSetupFailed, *error);
  // execvpe would search the PATH of our own environment, not of the workload's: search here.
  const int error = exec_first(plan.candidates, plan.argv.data(), plan.envp.data());
  child_fail(kCannotExec, "cannot run " + spec.args[0] + ": " + errno_text(error));
}

// A new pseudo-terminal: master and slave, neither our controlling terminal.
std::pair<Fd, Fd> open_terminal() {
  Fd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master.valid()) throw_errno("cannot open a terminal (/dev/ptmx)");
  if (::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0) throw_errno("cannot unlock the terminal");
  // The slave through the master (no path lookup, so no /dev/pts mismatch in the container), else
  // by its name for kernels before 4.13.
  Fd slave(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave.valid()) {
    char name[128];
    if (::ptsname_r(master.get(), name, sizeof name) != 0) throw_errno("cannot name the terminal");
    slave.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave.valid()) throw_errno(std::string("cannot open the terminal ") + name);
  }
  return {std::move(master), std::move(slave)};
}

class Supervisor final : private AttachHub::Workload {
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
    start_attach();
    start_child();
    while (!child_status_) {
      wait_for_events(kill_wait_ms());
      kill_when_grace_is_over();
    }
    // Stopped: nothing of the container outlives the exit record (and the pipes close at once).
    // Not PID 1, what we kill is also reaped before the exit is told (the workload's own status
    // is in by now): the Stop's answer means the processes are gone.
    if (stop_requested_) {
      if (::getpid() == 1) kill_container_processes();
      else kill_descendants();
    }
    drain_output();
    const ExitStatus status = decode_wait_status(*child_status_);
    // Killed by SIGKILL, or ended with a shell's 137 for a child killed so (`sh -c 'dd ...'`),
    // while the cgroup's OOM-kill count went up: the kernel's OOM killer did it.
    const int64_t ooms_after = oom_kill_count();
    // (Not when we killed it ourselves at the end of a stop's grace period.)
    const bool oom_killed = !killed_for_stop_ && (status.signal == SIGKILL || status.exit_code == 128 + SIGKILL) &&
                            ooms_before_ >= 0 && ooms_after > ooms_before_;
    write_exit_record(spec_.exit_path, status, started_at_, finished_at_, oom_killed);
    finish_attach(status.exit_code);
    // As PID 1 our exit kills everything left in the container. Not PID 1 (the pod's or the
    // host's PID namespace, or tests), we end what the workload left ourselves: its process group
    // and every other descendant (orphans came to us as the subreaper).
    if (::getpid() != 1) {
      ::kill(-child_, SIGKILL);
      kill_descendants();
    }
    return status.exit_code;
  }

 private:
  struct Output {
    const char* stream;
    attach::FrameType frame;
    Fd fd;
    LineSplitter splitter;
  };

  // Before the workload starts, so that an attach right after the start sees all its output. A
  // socket that cannot be made costs the attaching, not the container.
  void start_attach() {
    if (spec_.attach_socket.empty()) return;
    try {
      hub_.emplace(spec_.attach_socket, AttachHub::Options{spec_.stdin_once, spec_.tty},
                   static_cast<AttachHub::Workload&>(*this));
    } catch (const std::exception& e) {
      message(std::string("attach is not available: ") + e.what());
    }
  }

  void start_child() {
    Fd stdin_read, out_write, err_write, slave;
    if (spec_.tty) {
      auto [master, pty_slave] = open_terminal();
      // The workload's user owns its terminal, as after a login (best effort: only root may chown).
      if ((spec_.uid || spec_.gid) && ::fchown(pty_slave.get(), spec_.uid.value_or(static_cast<uid_t>(-1)),
                                               spec_.gid.value_or(static_cast<gid_t>(-1))) != 0) {
        // Still usable through the fds the workload inherits.
      }
      outputs_[0].fd.reset(::fcntl(master.get(), F_DUPFD_CLOEXEC, 0));
      if (!outputs_[0].fd.valid()) throw_errno("cannot duplicate the terminal");
      terminal_ = std::move(master);
      slave = std::move(pty_slave);
      // Reads (output) and writes (stdin) of the master must not block the loop.
      ::fcntl(terminal_.get(), F_SETFL, ::fcntl(terminal_.get(), F_GETFL) | O_NONBLOCK);
      input_open_ = spec_.stdin;
    } else {
      int out_pipe[2], err_pipe[2];
      if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw_errno("cannot create a pipe");
      outputs_[0].fd.reset(out_pipe[0]);
      out_write.reset(out_pipe[1]);
      if (::pipe2(err_pipe, O_CLOEXEC) != 0) throw_errno("cannot create a pipe");
      outputs_[1].fd.reset(err_pipe[0]);
      err_write.reset(err_pipe[1]);
      if (spec_.stdin) {
        int in_pipe[2];
        if (::pipe2(in_pipe, O_CLOEXEC) != 0) throw_errno("cannot create a pipe");
        stdin_read.reset(in_pipe[0]);
        stdin_pipe_.reset(in_pipe[1]);
        ::fcntl(stdin_pipe_.get(), F_SETFL, O_NONBLOCK);
        input_open_ = true;
      } else {
        stdin_read.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        if (!stdin_read.valid()) throw_errno("cannot open /dev/null");
      }
    }

    if (spec_.hostname && ::sethostname(spec_.hostname->data(), spec_.hostname->size()) != 0)
      throw_errno("cannot set the hostname to " + *spec_.hostname);

    const ProcessSetup setup = prepare_process(spec_);
    const ChildPlan plan{spec_,
                         setup,
                         exec_candidates(spec_.args[0], spec_.search_path()),
                         c_strings(spec_.args),
                         c_strings(spec_.env),
                         spec_.tty ? slave.get() : stdin_read.get(),
                         spec_.tty ? slave.get() : out_write.get(),
                         spec_.tty ? slave.get() : err_write.get(),
                         spec_.tty};
    if (spec_.new_pid_namespace) new_pid_namespace_for_child();
    child_ = ::fork();
    if (child_ < 0) throw_errno("cannot fork");
    if (child_ == 0) exec_child(plan);
    // Also from this side, so that the group exists before the child gets to it: a stop signal
    // right now must reach it. Not for a terminal: setsid fails for a process group leader (a stop
    // signal before it then reaches the child alone, which has not started anything yet).
    if (!spec_.tty) ::setpgid(child_, child_);
    started_at_ = now_ns();
    ooms_before_ = oom_kill_count();
    if (!spec_.exit_path.empty())
      write_json_file(started_record_path(spec_.exit_path),
                      {{"started_at", started_at_}, {"pid", child_}, {"user", identity_record(setup)}});
    // out_write, err_write, the stdin pipe's read end and the terminal's slave close here: once
    // the workload's copies close, we see EOF (EIO on the terminal).
  }

  // Waits up to `timeout_ms` (-1: for ever) and handles whatever is ready.
  void wait_for_events(int timeout_ms) {
    PollSet set;
    set.add(signals_.get(), POLLIN, [this](short) { handle_signals(); });
    for (auto& out : outputs_)
      if (out.fd.valid()) set.add(out.fd.get(), POLLIN, [this, &out](short) { read_output(out); });
    if (input_open_ && !input_queue_.empty())
      set.add(input_fd(), POLLOUT, [this](short) { write_input(); });
    if (hub_) hub_->add_to(set);
    set.wait(timeout_ms);
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
      // A terminal ends lines with CR LF; the log's lines end at the LF, as containerd's do.
      if (spec_.tty && tag == 'F' && !content.empty() && content.back() == '\r') content.remove_suffix(1);
      log_.write(cri_record(timestamp, out.stream, tag, content));
    };
  }

  void read_output(Output& out) {
    char buf[64 * 1024];
    const ssize_t n = ::read(out.fd.get(), buf, sizeof buf);
    if (n > 0) {
      const std::string_view bytes(buf, static_cast<size_t>(n));
      out.splitter.feed(bytes, sink_for(out, now_ns()));
      if (hub_) hub_->output(out.frame, bytes);
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      // EIO from a terminal's master: every slave is closed, the workload's output is over.
      close_output(out);
    }
  }

  // ---- stopping (a Stop frame from lxe, AttachHub::Workload)

  void stop(uint32_t grace_seconds) override {
    if (child_status_) return;  // over already: Exit follows
    stop_requested_ = true;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(grace_seconds);
    // A second Stop may shorten the grace period (kubelet's forced stop after a graceful one),
    // never lengthen it.
    if (kill_at_ && *kill_at_ <= deadline) return;
    kill_at_ = deadline;
    if (grace_seconds > 0) signal_group(child_, spec_.stop_signal);
    kill_when_grace_is_over();
  }

  // How long the loop may wait before the grace period of a stop is over (-1: no stop pending).
  int kill_wait_ms() const {
    if (!kill_at_) return -1;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*kill_at_ - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
  }

  void kill_when_grace_is_over() {
    if (!kill_at_ || child_status_ || std::chrono::steady_clock::now() < *kill_at_) return;
    kill_at_.reset();
    killed_for_stop_ = true;
    signal_group(child_, SIGKILL);
    kill_container_processes();
  }

  // ---- the workload's stdin, for attach clients (AttachHub::Workload)

  int input_fd() const { return spec_.tty ? terminal_.get() : stdin_pipe_.get(); }

  void input(std::string_view bytes) override {
    if (!input_open() || bytes.empty()) return;
    input_queue_.append(bytes);
    write_input();
  }

  void end_input() override {
    if (!input_open_ || spec_.tty) return;
    input_ending_ = true;
    if (input_queue_.empty()) close_input();
  }

  bool input_open() const override { return input_open_ && !input_ending_; }
  bool input_full() const override { return input_queue_.size() >= kInputQueued; }

  void resize(attach::WindowSize size) override {
    if (!terminal_.valid()) return;
    winsize ws{};
    ws.ws_col = size.width;
    ws.ws_row = size.height;
    // The kernel sends SIGWINCH to the terminal's foreground process group.
    ::ioctl(terminal_.get(), TIOCSWINSZ, &ws);
  }

  void write_input() {
    while (input_open_ && !input_queue_.empty()) {
      const ssize_t n = ::write(input_fd(), input_queue_.data(), input_queue_.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return;
        // EPIPE: nobody reads the workload's stdin any more; what clients send goes nowhere.
        close_input();
        return;
      }
      input_queue_.erase(0, static_cast<size_t>(n));
    }
    if (input_ending_ && input_queue_.empty()) close_input();
  }

  // The workload reads EOF on its stdin once it has read what was queued. The terminal's master
  // stays: it carries the output.
  void close_input() {
    input_open_ = false;
    input_queue_.clear();
    stdin_pipe_.reset();
  }

  // The workload is gone and its output collected: attach clients get the rest and the exit code.
  void finish_attach(int exit_code) {
    if (!hub_) return;
    hub_->finish(exit_code);
    const auto deadline = std::chrono::steady_clock::now() + kFlushLimit;
    while (!hub_->done()) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      wait_for_events(static_cast<int>(left.count()));
    }
    hub_.reset();
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
  Output outputs_[2] = {{"stdout", attach::FrameType::Stdout, Fd(), LineSplitter()},
                        {"stderr", attach::FrameType::Stderr, Fd(), LineSplitter()}};
  Fd terminal_;    // the pty's master (tty): stdin for the workload, resizes
  Fd stdin_pipe_;  // the write end of the workload's stdin (stdin without tty)
  bool input_open_ = false;
  bool input_ending_ = false;  // stdin_once: close once the queue is written
  std::string input_queue_;
  // Declared after what it calls back into, so that it goes first.
  std::optional<AttachHub> hub_;
  pid_t child_ = -1;
  std::optional<int> child_status_;
  int64_t started_at_ = 0;
  int64_t finished_at_ = 0;
  int64_t ooms_before_ = -1;
  bool stop_requested_ = false;
  std::optional<std::chrono::steady_clock::time_point> kill_at_;  // a stop's grace period ends
  bool killed_for_stop_ = false;
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
