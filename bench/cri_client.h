// A CRI client for the bench: one method per call the scenarios make, each with a deadline,
// throwing CallError with the call's name and gRPC status when it fails.
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "runtime/v1/api.grpc.pb.h"

namespace lxe::bench {

namespace cri = ::runtime::v1;

struct CallError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "NOT_FOUND: message".
std::string describe(const grpc::Status& status);

void set_deadline(grpc::ClientContext& context, std::chrono::milliseconds deadline);

inline constexpr std::chrono::milliseconds kLifecycleDeadline = std::chrono::seconds(180);
inline constexpr std::chrono::milliseconds kReadDeadline = std::chrono::seconds(10);

class Cri {
 public:
  explicit Cri(std::shared_ptr<grpc::Channel> channel);

  cri::RuntimeService::Stub& stub() { return *stub_; }

  // One unary call by its stub method: Cri::call<Req, Resp>("Version", &Stub::Version, request).
  template <typename Req, typename Resp, typename Fn>
  Resp call(const char* what, Fn fn, const Req& request, std::chrono::milliseconds deadline = kReadDeadline) {
    grpc::ClientContext context;
    set_deadline(context, deadline);
    Resp response;
    const grpc::Status status = (stub_.get()->*fn)(&context, request, &response);
    if (!status.ok()) throw CallError(std::string(what) + ": " + describe(status));
    return response;
  }

  cri::VersionResponse version();
  std::string run_pod(const cri::PodSandboxConfig& config);
  std::string create(const std::string& pod_id, const cri::ContainerConfig& config,
                     const cri::PodSandboxConfig& pod_config);
  void start(const std::string& id);
  void stop(const std::string& id, int64_t timeout);
  void remove(const std::string& id);
  void stop_pod(const std::string& id);
  void remove_pod(const std::string& id);
  cri::ListPodSandboxResponse list_pods();
  cri::ListContainersResponse list_containers();
  // The "info" of a verbose status (lxe's record as JSON); {} when there is none.
  nlohmann::json container_info(const std::string& id);
  nlohmann::json pod_info(const std::string& id);

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<cri::RuntimeService::Stub> stub_;
};

}  // namespace lxe::bench
