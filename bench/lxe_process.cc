#include "lxe_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "runtime/v1/api.grpc.pb.h"

extern char** environ;

namespace lxe::bench {

namespace {

constexpr int kMaxMessageBytes = 16 * 1024 * 1024;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

std::shared_ptr<grpc::Channel> make_channel(const std::string& unix_socket) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  return grpc::CreateCustomChannel("unix:" + unix_socket, grpc::InsecureChannelCredentials(), args);
}

bool accepts_connections(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

Memory memory_of(pid_t pid) {
  Memory m;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss_kb = std::stoll(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) m.hwm_kb = std::stoll(line.substr(6));
    if (line.rfind("RssAnon:", 0) == 0) m.anon_kb = std::stoll(line.substr(8));
    if (line.rfind("RssFile:", 0) == 0) m.file_kb = std::stoll(line.substr(8));
  }
  return m;
}

double cpu_seconds(pid_t pid) {
  // utime + stime of the whole process, exited threads included (gRPC's server starts and ends
  // threads as it goes, so a sum over the live threads' schedstat loses time). The unit is a clock
  // tick (10 ms): callers measure over thousands of calls.
  const std::string stat = read_all("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');  // the command, in parentheses, may contain spaces
  if (close == std::string::npos) return 0;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

LxeProcess::~LxeProcess() {
  try {
    if (pid_ > 0) stop(SIGTERM);
  } catch (...) {
  }
}

void LxeProcess::spawn(const std::string& log_level) {
  if (pid_ > 0) throw std::runtime_error("lxe is already running");
  log_path_ = config_.log_dir + "/lxe." + std::to_string(++starts_) + ".log";
  std::vector<std::string> argv = {config_.binary,         "--socket",    config_.socket,
                                   "--db",                 config_.db,    "--lxd-socket",
                                   config_.lxd_socket,     "--lxd-name-prefix", config_.prefix, "--network-plugin", "none",
                                   "--log-level",          log_level};
  argv.insert(argv.end(), config_.extra_args.begin(), config_.extra_args.end());
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  // The environment, built before fork (no allocation in the child): ours, with LXE_TEST_MARK set.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind("LXE_TEST_MARK=", 0) != 0) env_strings.emplace_back(*e);
  if (!config_.mark.empty()) env_strings.push_back("LXE_TEST_MARK=" + config_.mark);
  std::vector<char*> env;
  for (auto& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  const pid_t parent = getpid();
  const std::string log = log_path_;

  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int in = open("/dev/null", O_RDONLY);
    const int err = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || err < 0) _exit(127);
    dup2(in, 0);
    dup2(err, 1);
    dup2(err, 2);
    execve(args[0], args.data(), env.data());
    _exit(127);
  }
  pid_ = pid;
}

void LxeProcess::wait_serving(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (pid_ <= 0 || waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("lxe exited before serving: " + log_tail());
    }
    // A channel whose first connect fails backs off for a second or more: connect first.
    if (accepts_connections(config_.socket)) {
      channel_ = make_channel(config_.socket);
      auto stub = runtime::v1::RuntimeService::NewStub(channel_);
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
      runtime::v1::VersionResponse response;
      if (stub->Version(&ctx, runtime::v1::VersionRequest(), &response).ok()) return;
      channel_.reset();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  throw std::runtime_error("lxe did not answer on " + config_.socket + " in time: " + log_tail());
}

void LxeProcess::stop(int signal, std::chrono::milliseconds timeout) {
  channel_.reset();
  if (pid_ <= 0) return;
  kill(pid_, signal);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || r < 0) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  pid_ = -1;
}

bool LxeProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string LxeProcess::log_tail(size_t max_chars) const {
  const std::string text = read_all(log_path_);
  return text.size() > max_chars ? "..." + text.substr(text.size() - max_chars) : text;
}

std::shared_ptr<grpc::Channel> LxeProcess::channel() {
  if (!channel_) channel_ = make_channel(config_.socket);
  return channel_;
}

}  // namespace lxe::bench
