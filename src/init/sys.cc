#include "init/sys.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>
#include <system_error>

namespace lxe::init {

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void message(std::string_view text) {
  std::string line = "lxe-init: ";
  line.append(text);
  line.push_back('\n');
  write_all(STDERR_FILENO, line);
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp";
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) throw_errno("cannot create " + tmp);
    if (!write_all(fd.get(), content)) throw_errno("cannot write " + tmp);
    if (::fsync(fd.get()) != 0) throw_errno("cannot sync " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno("cannot rename " + tmp + " to " + path);
  // The rename itself is only durable once the directory is synced; lxe may read the file after
  // a host crash.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.valid()) ::fsync(dir_fd.get());
}

void ensure_standard_fds() {
  for (int wanted = 0; wanted <= STDERR_FILENO; ++wanted) {
    if (::fcntl(wanted, F_GETFD) >= 0) continue;
    // open() returns the lowest free fd, which is `wanted` since it is closed.
    ::open("/dev/null", O_RDWR);
  }
}

Fd block_signals_into_fd(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) throw_errno("cannot block signals");
  Fd fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd.valid()) throw_errno("cannot create a signalfd");
  return fd;
}

int next_signal(int signal_fd) {
  signalfd_siginfo info{};
  while (true) {
    const ssize_t n = ::read(signal_fd, &info, sizeof info);
    if (n == static_cast<ssize_t>(sizeof info)) return static_cast<int>(info.ssi_signo);
    if (n < 0 && errno == EINTR) continue;
    return 0;  // EAGAIN: nothing pending
  }
}

void reset_signals_for_child() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  // sigaction fails for SIGKILL, SIGSTOP and glibc's internal signals; that is fine.
  for (int s = 1; s < NSIG; ++s) sigaction(s, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

void become_subreaper_unless_pid1() {
  if (::getpid() != 1) ::prctl(PR_SET_CHILD_SUBREAPER, 1);
}

ExitStatus decode_wait_status(int status) {
  if (WIFSIGNALED(status)) return {std::min(128 + WTERMSIG(status), 255), WTERMSIG(status)};
  return {WEXITSTATUS(status), 0};
}

void signal_group(pid_t pid, int signal) {
  if (::kill(-pid, signal) != 0) ::kill(pid, signal);
}

std::string errno_text(int error) { return std::strerror(error); }

namespace {

// Every process of /proc whose parent chain leads to `ancestor`.
std::vector<pid_t> descendants_of(pid_t ancestor) {
  std::map<pid_t, std::vector<pid_t>> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", std::filesystem::directory_options::skip_permission_denied)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, the last ')' ends it.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    char state = 0;
    pid_t ppid = 0;
    if (rest >> state >> ppid) children[ppid].push_back(static_cast<pid_t>(std::stol(name)));
  }
  std::vector<pid_t> out;
  std::vector<pid_t> todo{ancestor};
  while (!todo.empty()) {
    const pid_t pid = todo.back();
    todo.pop_back();
    for (const pid_t child : children[pid]) {
      out.push_back(child);
      todo.push_back(child);
    }
  }
  return out;
}

}  // namespace

void kill_descendants() {
  // As a subreaper we inherit the orphans of what we kill: a few rounds, reaping in between.
  for (int round = 0; round < 20; ++round) {
    std::vector<pid_t> pids;
    try {
      pids = descendants_of(::getpid());
    } catch (const std::exception&) {
      return;  // no /proc to read: nothing better to do
    }
    if (pids.empty()) return;
    for (const pid_t pid : pids) ::kill(pid, SIGKILL);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    while (std::chrono::steady_clock::now() < until) {
      const pid_t reaped = ::waitpid(-1, nullptr, WNOHANG);
      if (reaped < 0 && errno == ECHILD) break;  // no child left: look for descendants again at once
      if (reaped <= 0) ::usleep(5000);
    }
  }
}

void kill_container_processes() {
  if (::getpid() == 1) {
    // kill(-1) from PID 1 of a namespace reaches every process of it but the caller.
    ::kill(-1, SIGKILL);
    return;
  }
  try {
    for (const pid_t pid : descendants_of(::getpid())) ::kill(pid, SIGKILL);
  } catch (const std::exception&) {
    // No /proc to read: what is left ends with the container's cgroup (lxe kills it).
  }
}

}  // namespace lxe::init
