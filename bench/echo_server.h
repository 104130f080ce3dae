// The physical limit of a CRI call on this machine: a gRPC server in this process, on a unix socket
// of its own, serving lxe's own RuntimeService with trivial handlers. Each handler copies a canned
// response into the reply and does nothing else.
//
// Two uses:
//   - Version with lxe's own Version answer: the bare gRPC unary round trip, the floor of any CRI
//     call ("echo" in the report);
//   - every hot-path RPC with the response lxe gave at the current size ("same-shape echo"): what
//     gRPC and protobuf alone cost for a message of that size, so that what remains is lxe's.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>

#include <grpcpp/grpcpp.h>

#include "runtime/v1/api.grpc.pb.h"

namespace lxe::bench {

namespace cri = ::runtime::v1;

class EchoService final : public cri::RuntimeService::Service {
 public:
  // Canned answers; set them while no call is in flight.
  void set_version(const cri::VersionResponse& r);
  void set_status(const cri::StatusResponse& r);
  void set_list_pods(const cri::ListPodSandboxResponse& r);
  void set_list_containers(const cri::ListContainersResponse& r);
  void set_pod_status(const cri::PodSandboxStatusResponse& r);
  void set_container_status(const cri::ContainerStatusResponse& r);

  grpc::Status Version(grpc::ServerContext*, const cri::VersionRequest*, cri::VersionResponse*) override;
  grpc::Status Status(grpc::ServerContext*, const cri::StatusRequest*, cri::StatusResponse*) override;
  grpc::Status ListPodSandbox(grpc::ServerContext*, const cri::ListPodSandboxRequest*,
                              cri::ListPodSandboxResponse*) override;
  grpc::Status ListContainers(grpc::ServerContext*, const cri::ListContainersRequest*,
                              cri::ListContainersResponse*) override;
  grpc::Status PodSandboxStatus(grpc::ServerContext*, const cri::PodSandboxStatusRequest*,
                                cri::PodSandboxStatusResponse*) override;
  grpc::Status ContainerStatus(grpc::ServerContext*, const cri::ContainerStatusRequest*,
                               cri::ContainerStatusResponse*) override;

 private:
  std::mutex mutex_;
  cri::VersionResponse version_;
  cri::StatusResponse status_;
  cri::ListPodSandboxResponse list_pods_;
  cri::ListContainersResponse list_containers_;
  cri::PodSandboxStatusResponse pod_status_;
  cri::ContainerStatusResponse container_status_;
};

// The canned replies as files in a directory, one serialized message each: version.pb, status.pb,
// list_pods.pb, list_containers.pb, pod_status.pb, container_status.pb. Missing files leave a reply
// as it was. Throws std::runtime_error on a file that does not parse.
void load_replies(EchoService& service, const std::string& dir);

// The echo as a process of its own (this same binary, run with --serve-echo), so that a call to it
// crosses a process boundary as a call to lxe does.
class EchoProcess {
 public:
  // Runs `self_exe --serve-echo <socket> --echo-replies <replies_dir>` and waits until it listens.
  EchoProcess(const std::string& self_exe, std::string socket, const std::string& replies_dir);
  ~EchoProcess();  // SIGTERM and wait
  EchoProcess(const EchoProcess&) = delete;
  EchoProcess& operator=(const EchoProcess&) = delete;
  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }

 private:
  std::string socket_;
  pid_t pid_ = -1;
};

// The main of `--serve-echo`: serves until SIGTERM or SIGINT; returns the exit code.
int serve_echo_main(const std::string& socket, const std::string& replies_dir);

class EchoServer {
 public:
  explicit EchoServer(std::string socket_path);  // throws std::runtime_error if it cannot listen
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  const std::string& socket() const { return socket_; }
  EchoService& service() { return service_; }

 private:
  std::string socket_;
  EchoService service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace lxe::bench
