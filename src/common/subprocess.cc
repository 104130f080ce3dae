#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/sigpipe_block.h"
#include "common/unique_fd.h"

namespace lxe {

namespace {

struct Pipe {
  UniqueFd read, write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Spawn attributes and file actions, destroyed with the object.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

bool ProcessExit::succeeded() const { return !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0; }

std::string ProcessExit::describe() const {
  if (timed_out) return "did not finish in time";
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "ended oddly (status " + std::to_string(status) + ")";
}

std::string ProcessExit::said() const {
  std::string text = err.empty() ? out : err;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.pop_back();
  return text;
}

ProcessExit run_process(const ProcessSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) throw std::runtime_error("run_process: no program given");
  Pipe in = make_pipe(), out = make_pipe(), err = make_pipe();

  SpawnSetup setup;
  posix_spawn_file_actions_adddup2(&setup.actions, in.read.get(), 0);
  posix_spawn_file_actions_adddup2(&setup.actions, out.write.get(), 1);
  posix_spawn_file_actions_adddup2(&setup.actions, err.write.get(), 2);
  // dup2 onto 3, 4, ...: the copies lose close-on-exec, the originals keep it. A source that
  // is itself one of the low targets would be overwritten first; callers pass fresh descriptors,
  // which are never that low while 0-2 are open.
  for (size_t i = 0; i < spec.pass_fds.size(); ++i)
    posix_spawn_file_actions_adddup2(&setup.actions, spec.pass_fds[i], static_cast<int>(3 + i));
  // Nothing else: also no descriptor lxe itself inherited without close-on-exec.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, static_cast<int>(3 + spec.pass_fds.size()));
  sigset_t none, pipe;
  sigemptyset(&none);
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &pipe);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (spec.own_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&setup.attr, 0);
  }
  posix_spawnattr_setflags(&setup.attr, flags);

  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  // posix_spawnp searches the caller's PATH (not envp's) for a bare name.
  const int rc = ::posix_spawnp(&pid, spec.argv[0].c_str(), &setup.actions, &setup.attr, argv.data(), envp.data());
  if (rc != 0) throw std::runtime_error("cannot run " + spec.argv[0] + ": " + std::strerror(rc));
  in.read.reset();
  out.write.reset();
  err.write.reset();

  ProcessExit exit;
  const auto deadline = std::chrono::steady_clock::now() + spec.timeout;
  const auto kill_it = [&] {
    exit.timed_out = true;
    ::kill(spec.own_process_group ? -pid : pid, SIGKILL);
  };
  // stdin is written in pieces between reads, so that a program printing much before it reads
  // all its input cannot deadlock with lxe.
  size_t written = 0;
  if (spec.input.empty()) in.write.reset();
  else ::fcntl(in.write.get(), F_SETFL, ::fcntl(in.write.get(), F_GETFL) | O_NONBLOCK);
  pollfd fds[3] = {{out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}, {in.write.get(), POLLOUT, 0}};
  char buffer[16384];
  const SigpipeBlock no_sigpipe;
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill_it();
      break;
    }
    const int ready = ::poll(fds, 3, static_cast<int>(std::min<int64_t>(left.count(), 1 << 30)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        (i == 0 ? exit.out : exit.err).append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
      }
    }
    if (fds[2].fd >= 0 && fds[2].revents != 0) {
      const ssize_t n = ::write(fds[2].fd, spec.input.data() + written, spec.input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      // Done, or the program stopped reading (EPIPE): either way its stdin is over.
      if (written == spec.input.size() || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        in.write.reset();
        fds[2].fd = -1;
      }
    }
  }
  in.write.reset();
  // Both pipes closed: the program exited or closed them; waiting is still bounded by the deadline.
  while (true) {
    const pid_t done = ::waitpid(pid, &exit.status, exit.timed_out ? 0 : WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    if (done == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        kill_it();
        continue;
      }
      ::usleep(2000);
    }
  }
  return exit;
}

}  // namespace lxe
