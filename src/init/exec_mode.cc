// `lxe-init exec --timeout SECONDS -- ARGV...`: how lxe runs CRI ExecSync through LXD's exec API.
//
// It adds what LXD's exec does not have: a timeout that kills the command's whole process group
// (exit 124 like timeout(1)), and a missing command as a normal exit 127 like a shell's, where LXD
// would fail the whole exec operation instead.
#include <poll.h>
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

#include "init/modes.h"
#include "init/sys.h"

namespace lxe::init {
namespace {

constexpr int kUsage = 2;
constexpr int kCannotExec = 127;
constexpr int kTimedOut = 124;

struct ExecArgs {
  long long timeout_seconds = 0;  // 0: no timeout
  std::vector<std::string> argv;
};

std::optional<long long> parse_seconds(const std::string& text) {
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

// Accepts `--timeout N -- ARGV...` and `--timeout=N -- ARGV...`.
std::optional<ExecArgs> parse_exec_args(const std::vector<std::string>& args) {
  ExecArgs out;
  size_t i = 0;
  std::optional<long long> seconds;
  if (i < args.size() && args[i].rfind("--timeout=", 0) == 0) {
    seconds = parse_seconds(args[i].substr(10));
    i += 1;
  } else if (i + 1 < args.size() && args[i] == "--timeout") {
    seconds = parse_seconds(args[i + 1]);
    i += 2;
  }
  if (!seconds || i >= args.size() || args[i] != "--" || i + 1 >= args.size()) return std::nullopt;
  out.timeout_seconds = *seconds;
  out.argv.assign(args.begin() + static_cast<long>(i) + 1, args.end());
  return out;
}

[[noreturn]] void exec_child(const std::vector<std::string>& argv) {
  // Its own process group, so that the timeout also kills what the command started.
  ::setpgid(0, 0);
  // With a terminal, the new group must be its foreground group or reading it stops the command.
  if (::isatty(STDIN_FILENO)) {
    ::signal(SIGTTOU, SIG_IGN);
    ::tcsetpgrp(STDIN_FILENO, ::getpid());
  }
  reset_signals_for_child();
  std::vector<char*> c_argv;
  for (const auto& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  ::execvp(c_argv[0], c_argv.data());
  message("cannot run " + argv[0] + ": " + errno_text(errno));
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
    message("usage: lxe-init exec --timeout SECONDS -- COMMAND [ARG...]");
    return kUsage;
  }
  Fd signals = block_signals_into_fd({SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT});
  const pid_t child = ::fork();
  if (child < 0) {
    message("cannot fork: " + errno_text(errno));
    return kCannotExec;
  }
  if (child == 0) exec_child(parsed->argv);
  ::setpgid(child, child);  // also here, so that the group exists whichever of us runs first

  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (parsed->timeout_seconds > 0)
    deadline = std::chrono::steady_clock::now() + std::chrono::seconds(parsed->timeout_seconds);
  if (const auto code = wait_for_child(child, signals.get(), deadline)) return *code;

  signal_group(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  message("exec timed out after " + std::to_string(parsed->timeout_seconds) + " s");
  return kTimedOut;
}

}  // namespace lxe::init
