#include "echo_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "lxe_process.h"

namespace lxe::bench {

namespace {
constexpr int kMaxMessageBytes = 16 * 1024 * 1024;  // as lxe's server
}

void EchoService::set_version(const cri::VersionResponse& r) {
  std::lock_guard lock(mutex_);
  version_ = r;
}
void EchoService::set_status(const cri::StatusResponse& r) {
  std::lock_guard lock(mutex_);
  status_ = r;
}
void EchoService::set_list_pods(const cri::ListPodSandboxResponse& r) {
  std::lock_guard lock(mutex_);
  list_pods_ = r;
}
void EchoService::set_list_containers(const cri::ListContainersResponse& r) {
  std::lock_guard lock(mutex_);
  list_containers_ = r;
}
void EchoService::set_pod_status(const cri::PodSandboxStatusResponse& r) {
  std::lock_guard lock(mutex_);
  pod_status_ = r;
}
void EchoService::set_container_status(const cri::ContainerStatusResponse& r) {
  std::lock_guard lock(mutex_);
  container_status_ = r;
}

grpc::Status EchoService::Version(grpc::ServerContext*, const cri::VersionRequest*, cri::VersionResponse* r) {
  std::lock_guard lock(mutex_);
  *r = version_;
  return grpc::Status::OK;
}
grpc::Status EchoService::Status(grpc::ServerContext*, const cri::StatusRequest*, cri::StatusResponse* r) {
  std::lock_guard lock(mutex_);
  *r = status_;
  return grpc::Status::OK;
}
grpc::Status EchoService::ListPodSandbox(grpc::ServerContext*, const cri::ListPodSandboxRequest*,
                                         cri::ListPodSandboxResponse* r) {
  std::lock_guard lock(mutex_);
  *r = list_pods_;
  return grpc::Status::OK;
}
grpc::Status EchoService::ListContainers(grpc::ServerContext*, const cri::ListContainersRequest*,
                                         cri::ListContainersResponse* r) {
  std::lock_guard lock(mutex_);
  *r = list_containers_;
  return grpc::Status::OK;
}
grpc::Status EchoService::PodSandboxStatus(grpc::ServerContext*, const cri::PodSandboxStatusRequest*,
                                           cri::PodSandboxStatusResponse* r) {
  std::lock_guard lock(mutex_);
  *r = pod_status_;
  return grpc::Status::OK;
}
grpc::Status EchoService::ContainerStatus(grpc::ServerContext*, const cri::ContainerStatusRequest*,
                                          cri::ContainerStatusResponse* r) {
  std::lock_guard lock(mutex_);
  *r = container_status_;
  return grpc::Status::OK;
}

namespace {

template <typename Message>
bool load(const std::string& path, Message& message) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream data;
  data << in.rdbuf();
  if (!message.ParseFromString(data.str())) throw std::runtime_error("cannot parse " + path);
  return true;
}

}  // namespace

void load_replies(EchoService& service, const std::string& dir) {
  cri::VersionResponse version;
  if (load(dir + "/version.pb", version)) service.set_version(version);
  cri::StatusResponse status;
  if (load(dir + "/status.pb", status)) service.set_status(status);
  cri::ListPodSandboxResponse pods;
  if (load(dir + "/list_pods.pb", pods)) service.set_list_pods(pods);
  cri::ListContainersResponse containers;
  if (load(dir + "/list_containers.pb", containers)) service.set_list_containers(containers);
  cri::PodSandboxStatusResponse pod;
  if (load(dir + "/pod_status.pb", pod)) service.set_pod_status(pod);
  cri::ContainerStatusResponse container;
  if (load(dir + "/container_status.pb", container)) service.set_container_status(container);
}

int serve_echo_main(const std::string& socket, const std::string& replies_dir) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  try {
    EchoServer server(socket);
    if (!replies_dir.empty()) load_replies(server.service(), replies_dir);
    int sig = 0;
    sigwait(&set, &sig);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lxe-bench --serve-echo: %s\n", e.what());
    return 1;
  }
}

EchoProcess::EchoProcess(const std::string& self_exe, std::string socket, const std::string& replies_dir)
    : socket_(std::move(socket)) {
  ::unlink(socket_.c_str());
  std::vector<std::string> argv = {self_exe, "--serve-echo", socket_, "--echo-replies", replies_dir};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  pid_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!accepts_connections(socket_)) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("the echo process exited before serving");
    }
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("the echo process did not serve in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

EchoProcess::~EchoProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 3000; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
}

EchoServer::EchoServer(std::string socket_path) : socket_(std::move(socket_path)) {
  ::unlink(socket_.c_str());
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket_, grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.RegisterService(&service_);
  server_ = builder.BuildAndStart();
  if (!server_) throw std::runtime_error("cannot serve the echo on " + socket_);
}

EchoServer::~EchoServer() {
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  ::unlink(socket_.c_str());
}

}  // namespace lxe::bench
