#include "support/process.h"

#include "support/test_lxd.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cstring>
#include <unistd.h>

#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace lxe::test {
namespace {

pid_t spawn(const std::vector<std::string>& argv, const std::string& out_path, const std::string& err_path,
            const std::vector<std::string>& extra_env = {}) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (char** e = environ; *e; ++e) env.push_back(*e);
  for (const auto& e : extra_env) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot run " + argv[0]);
  return pid;
}

// Waits for `pid` up to `timeout`; returns true with the status when it exited.
bool wait_for(pid_t pid, std::chrono::milliseconds timeout, int& status) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return true;
    if (r < 0) return false;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool accepts_connections(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  TempDir dir;
  const pid_t pid = spawn(argv, dir.file("out"), dir.file("err"));
  CommandResult result;
  int status = 0;
  if (!wait_for(pid, timeout, status)) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    result.timed_out = true;
  } else {
    result.exit_code = exit_code_of(status);
  }
  result.out = read_file(dir.file("out"));
  result.err = read_file(dir.file("err"));
  return result;
}

std::vector<std::string> non_empty_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(line);
  return lines;
}

std::unique_ptr<grpc::ClientContext> context_with_deadline(std::chrono::milliseconds deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  return ctx;
}

DaemonProcess::DaemonProcess(const TempDir& dir, std::vector<std::string> extra_args,
                             std::chrono::milliseconds ready_timeout, std::vector<std::string> extra_env)
    : socket_(dir.file("lxe.sock")), stderr_path_(dir.file("lxe.stderr")) {
  std::vector<std::string> argv = {LXE_BINARY};
  bool has_socket = false, has_db = false, has_network = false;
  for (const auto& a : extra_args) {
    has_socket |= a.rfind("--socket", 0) == 0;
    has_db |= a.rfind("--db", 0) == 0;
    has_network |= a.rfind("--network-plugin", 0) == 0;
  }
  // Pods get loopback only unless a test asks for a network: no bridge for tests that need none
  // (and never lxe's default bridge and subnet, which belong to the host's own lxe).
  if (!has_network) argv.insert(argv.end(), {"--network-plugin", "none"});
  if (!has_socket) argv.insert(argv.end(), {"--socket", socket_});
  if (!has_db) argv.insert(argv.end(), {"--db", dir.file("lxe.db")});
  // Every LXD object this lxe makes is named with the test run's prefix and marked with the test
  // process, so that the sweep of a later run can remove what a killed run left (test_lxd.h).
  std::string prefix = run_prefix();
  prefix.pop_back();  // the trailing '-'
  argv.insert(argv.end(), {"--lxd-name-prefix", prefix});
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == "--socket") socket_ = argv[i + 1];
  extra_env.push_back("LXE_TEST_MARK=" + test_pid_value());
  pid_ = spawn(argv, dir.file("lxe.stdout"), stderr_path_, extra_env);

  // Create the channel only once the socket accepts connections: a channel whose first connect
  // fails backs off for seconds before it tries again.
  const auto deadline = std::chrono::steady_clock::now() + ready_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("lxe exited with " + std::to_string(exit_code_of(status)) +
                               " before serving: " + stderr_text());
    }
    if (accepts_connections(socket_)) {
      channel_ = grpc::CreateChannel("unix:" + socket_, grpc::InsecureChannelCredentials());
      runtime_ = runtime::v1::RuntimeService::NewStub(channel_);
      images_ = runtime::v1::ImageService::NewStub(channel_);
      auto ctx = context_with_deadline(std::chrono::seconds(5));
      runtime::v1::VersionResponse response;
      if (runtime_->Version(ctx.get(), runtime::v1::VersionRequest(), &response).ok()) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop(SIGKILL);
  throw std::runtime_error("lxe did not answer on " + socket_ + " in time: " + stderr_text());
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) stop(SIGTERM);
}

std::string DaemonProcess::stderr_text() const {
  try {
    return read_file(stderr_path_);
  } catch (const std::exception&) {
    return "";
  }
}

runtime::v1::RuntimeService::Stub& DaemonProcess::runtime() { return *runtime_; }
runtime::v1::ImageService::Stub& DaemonProcess::images() { return *images_; }

int DaemonProcess::stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  // Drop our connection first, as kubelet does when it goes away: lxe's graceful shutdown waits
  // (up to its grace period) for connected clients.
  runtime_.reset();
  images_.reset();
  channel_.reset();
  kill(pid_, signal);
  int status = 0;
  if (!wait_for(pid_, timeout, status)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  return exit_code_of(status);
}

}  // namespace lxe::test

namespace lxe::test {

int DaemonProcess::wait_for_death(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return 0;
  int status = 0;
  if (!wait_for(pid_, timeout, status)) return -1;
  pid_ = -1;
  runtime_.reset();
  images_.reset();
  channel_.reset();
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

}  // namespace lxe::test
