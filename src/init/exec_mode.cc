// `lxe-init exec --timeout SECONDS [--spec SPEC.json] -- ARGV...`: how lxe runs CRI ExecSync
// through LXD's exec API.
//
// It adds what LXD's exec does not have: a timeout that kills the command's whole process group
// (exit 124 like timeout(1)), a missing command as a normal exit 127 like a shell's, where LXD
// would fail the whole exec operation instead, and — with --spec, the container's own spec.json —
// the container's process identity: its environment, working directory, uid and gid, as
// containerd runs an exec with the container's process spec and only the arguments replaced
// (kubelet's exec probes in a runAsNonRoot pod must not run as root).
#include <poll.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <optional>
#include <system_error>

#include "init/child.h"
#include "init/modes.h"
#include "init/pid_namespace.h"
#include "init/spec.h"
#include "init/sys.h"

namespace lxe::init {
namespace {

constexpr int kUsage = 2;
constexpr int kCannotExec = 127;
// The container's spec could not be read, or its identity or directory not taken: not the
// command's fault, and not 127 (which LXD reports as "command not found").
constexpr int kSetupFailed = 126;
constexpr int kTimedOut = 124;
constexpr std::chrono::microseconds kTtyLinger{100'000};

struct ExecArgs {
  long long timeout_seconds = 0;  // 0: no timeout
  std::string spec_path;          // empty: run as LXD's exec started us
  std::vector<std::string> argv;
};

std::optional<long long> parse_seconds(const std::string& text) {
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

// Accepts `--timeout N` (or `--timeout=N`, required) and `--spec PATH` (or `--spec=PATH`) in any
// order, then `--` and the command.
std::optional<ExecArgs> parse_exec_args(const std::vector<std::string>& args) {
  ExecArgs out;
  std::optional<long long> seconds;
  size_t i = 0;
  for (; i < args.size() && args[i] != "--"; ++i) {
    std::string name = args[i];
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    }
    if (!value) return std::nullopt;
    if (name == "--timeout") {
      seconds = parse_seconds(*value);
      if (!seconds) return std::nullopt;
    } else if (name == "--spec" && !value->empty()) {
      out.spec_path = *value;
    } else {
      return std::nullopt;
    }
  }
  if (!seconds || i >= args.size() || i + 1 >= args.size()) return std::nullopt;
  out.timeout_seconds = *seconds;
  out.argv.assign(args.begin() + static_cast<long>(i) + 1, args.end());
  return out;
}

// What the child runs, prepared before fork. Without a spec: argv as given, looked up in our own
// PATH, with the environment LXD gave us.
struct ExecPlan {
  std::optional<Spec> spec;
  bool in_workload_pid_namespace = false;  // the child is in the workload's PID namespace, we are not
  ProcessSetup setup;  // from the spec: identity, capabilities, seccomp (child.h)
  std::vector<std::string> argv;
  std::vector<std::string> candidates;
  std::vector<char*> c_argv;
  std::vector<char*> c_envp;
};

ExecPlan make_plan(const ExecArgs& args) {
  ExecPlan plan;
  plan.argv = args.argv;
  if (!args.spec_path.empty()) {
    plan.spec = load_spec(args.spec_path);
    plan.candidates = exec_candidates(plan.argv[0], plan.spec->search_path());
    // A streaming exec with a terminal: containerd gives it TERM=xterm when the container's
    // environment has no TERM (LXD's exec sets none).
    if (::isatty(STDIN_FILENO) &&
        std::none_of(plan.spec->env.begin(), plan.spec->env.end(), [](const std::string& kv) { return kv.rfind("TERM=", 0) == 0; }))
      plan.spec->env.push_back("TERM=xterm");
    plan.c_envp = c_strings(plan.spec->env);
    plan.setup = prepare_process(*plan.spec);
  }
  plan.c_argv = c_strings(plan.argv);
  return plan;
}

[[noreturn]] void exec_child(const ExecPlan& plan, pid_t parent) {
  // Its own process group, so that the timeout also kills what the command started.
  ::setpgid(0, 0);

  // With a terminal, the new group must be its foreground group or reading it stops the command.
  if (::isatty(STDIN_FILENO)) {
    ::signal(SIGTTOU, SIG_IGN);
    ::tcsetpgrp(STDIN_FILENO, ::getpid());
  }
  reset_signals_for_child();
  // lxe ends a streaming exec whose client went away with SIGHUP, which we pass on, and SIGKILL
  // when that is not enough; SIGKILL reaches only us, so the command must not outlive us. Set
  // after the identity change, which clears it.
  // In the workload's PID namespace our PID reads as 0 (we are outside it) while we live, and
  // the child is the workload's once we are gone.
  const pid_t parent_seen = plan.in_workload_pid_namespace ? 0 : parent;
  const auto die_with_parent = [parent_seen] {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent_seen) ::_exit(kCannotExec);
  };
  int error = 0;
  if (plan.spec) {
    if (auto failure = enter_identity_and_cwd(*plan.spec, plan.setup)) {
      message(*failure);
      ::_exit(kSetupFailed);
    }
    die_with_parent();
    if (auto failure = apply_process_security(plan.setup)) {
      message(*failure);
      ::_exit(kSetupFailed);
    }
    error = exec_first(plan.candidates, plan.c_argv.data(), plan.c_envp.data());
  } else {
    die_with_parent();
    ::execvp(plan.c_argv[0], plan.c_argv.data());
    error = errno;
  }
  message("cannot run " + plan.argv[0] + ": " + errno_text(error));
  ::_exit(kCannotExec);
}

// Waits for the command to exit; returns nothing when `deadline` passes first.
std::optional<int> wait_for_child(pid_t child, int signal_fd,
                                  std::optional<std::chrono::steady_clock::time_point> deadline) {
  while (true) {
    int timeout_ms = -1;
    if (deadline) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      // poll takes an int; a longer timeout is simply waited for in several rounds.
      timeout_ms = static_cast<int>(std::min<long long>(left.count(), 1'000'000'000));
    }
    pollfd fd{signal_fd, POLLIN, 0};
    if (::poll(&fd, 1, timeout_ms) < 0 && errno != EINTR)
      throw std::system_error(errno, std::generic_category(), "poll failed");
    while (const int sig = next_signal(signal_fd)) {
      if (sig != SIGCHLD) {
        // LXD forwards the signals its exec client gets to us: pass them on.
        signal_group(child, sig);
        continue;
      }
      int status = 0;
      if (::waitpid(child, &status, WNOHANG) == child) return decode_wait_status(status).exit_code;
    }
  }
}

}  // namespace

int exec_command(const std::vector<std::string>& args) {
  const auto parsed = parse_exec_args(args);
  if (!parsed) {
    message("usage: lxe-init exec --timeout SECONDS [--spec SPEC.json] -- COMMAND [ARG...]");
    return kUsage;
  }
  ExecPlan plan;
  try {
    plan = make_plan(*parsed);
  } catch (const SpecError& e) {
    message(std::string("exec: ") + e.what());
    return kSetupFailed;
  }
  if (plan.spec) {
    // The workload has a mount namespace of its own (its read-only root, masked paths; the /proc
    // of its PID namespace), and maybe a PID namespace of its own (PID 1 there): the command joins
    // them. Without a record the workload never ran: the container's own namespaces it is.
    if (const auto workload = recorded_workload_pid(plan.spec->exit_path)) {
      if (auto error = join_workload_namespaces(*workload, plan.spec->new_pid_namespace)) {
        message("exec: " + *error);
        return kSetupFailed;
      }
      plan.in_workload_pid_namespace = plan.spec->new_pid_namespace;
    }
  }
  Fd signals = block_signals_into_fd({SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT});
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) {
    message("cannot fork: " + errno_text(errno));
    return kCannotExec;
  }
  if (child == 0) exec_child(plan, parent);
  ::setpgid(child, child);  // also here, so that the group exists whichever of us runs first

  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (parsed->timeout_seconds > 0)
    deadline = std::chrono::steady_clock::now() + std::chrono::seconds(parsed->timeout_seconds);
  if (const auto code = wait_for_child(child, signals.get(), deadline)) {
    // With a terminal (a streaming exec with tty), LXD 5.0 reads the pty's master while it waits
    // for us, and stops reading when we exit: output the command wrote just before it ended can
    // be lost (measured with plain `lxc exec -t -- echo -n hello`: about 1 run in 40 printed
    // nothing). Staying a moment longer lets LXD's reader take what the pty holds.
    if (::isatty(STDOUT_FILENO)) ::usleep(kTtyLinger.count());
    return *code;
  }

  signal_group(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  message("exec timed out after " + std::to_string(parsed->timeout_seconds) + " s");
  return kTimedOut;
}

}  // namespace lxe::init
