#include "cri_client.h"

namespace lxe::bench {

std::string describe(const grpc::Status& status) {
  static constexpr const char* kNames[] = {
      "OK",        "CANCELLED",          "UNKNOWN",   "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
      "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  const int code = static_cast<int>(status.error_code());
  const std::string name = code >= 0 && code <= 16 ? kNames[code] : std::to_string(code);
  return status.error_message().empty() ? name : name + ": " + status.error_message();
}

void set_deadline(grpc::ClientContext& context, std::chrono::milliseconds deadline) {
  context.set_deadline(std::chrono::system_clock::now() + deadline);
}

Cri::Cri(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)), stub_(cri::RuntimeService::NewStub(channel_)) {}

using Stub = cri::RuntimeService::Stub;

cri::VersionResponse Cri::version() {
  return call<cri::VersionRequest, cri::VersionResponse>("Version", &Stub::Version, cri::VersionRequest());
}

std::string Cri::run_pod(const cri::PodSandboxConfig& config) {
  cri::RunPodSandboxRequest r;
  *r.mutable_config() = config;
  return call<cri::RunPodSandboxRequest, cri::RunPodSandboxResponse>("RunPodSandbox", &Stub::RunPodSandbox, r,
                                                                     kLifecycleDeadline)
      .pod_sandbox_id();
}

std::string Cri::create(const std::string& pod_id, const cri::ContainerConfig& config,
                        const cri::PodSandboxConfig& pod_config) {
  cri::CreateContainerRequest r;
  r.set_pod_sandbox_id(pod_id);
  *r.mutable_config() = config;
  *r.mutable_sandbox_config() = pod_config;
  return call<cri::CreateContainerRequest, cri::CreateContainerResponse>("CreateContainer", &Stub::CreateContainer, r,
                                                                         kLifecycleDeadline)
      .container_id();
}

void Cri::start(const std::string& id) {
  cri::StartContainerRequest r;
  r.set_container_id(id);
  call<cri::StartContainerRequest, cri::StartContainerResponse>("StartContainer", &Stub::StartContainer, r,
                                                                kLifecycleDeadline);
}

void Cri::stop(const std::string& id, int64_t timeout) {
  cri::StopContainerRequest r;
  r.set_container_id(id);
  r.set_timeout(timeout);
  call<cri::StopContainerRequest, cri::StopContainerResponse>("StopContainer", &Stub::StopContainer, r,
                                                              kLifecycleDeadline);
}

void Cri::remove(const std::string& id) {
  cri::RemoveContainerRequest r;
  r.set_container_id(id);
  call<cri::RemoveContainerRequest, cri::RemoveContainerResponse>("RemoveContainer", &Stub::RemoveContainer, r,
                                                                  kLifecycleDeadline);
}

void Cri::stop_pod(const std::string& id) {
  cri::StopPodSandboxRequest r;
  r.set_pod_sandbox_id(id);
  call<cri::StopPodSandboxRequest, cri::StopPodSandboxResponse>("StopPodSandbox", &Stub::StopPodSandbox, r,
                                                                kLifecycleDeadline);
}

void Cri::remove_pod(const std::string& id) {
  cri::RemovePodSandboxRequest r;
  r.set_pod_sandbox_id(id);
  call<cri::RemovePodSandboxRequest, cri::RemovePodSandboxResponse>("RemovePodSandbox", &Stub::RemovePodSandbox, r,
                                                                    kLifecycleDeadline);
}

cri::ListPodSandboxResponse Cri::list_pods() {
  return call<cri::ListPodSandboxRequest, cri::ListPodSandboxResponse>("ListPodSandbox", &Stub::ListPodSandbox,
                                                                       cri::ListPodSandboxRequest());
}

cri::ListContainersResponse Cri::list_containers() {
  return call<cri::ListContainersRequest, cri::ListContainersResponse>("ListContainers", &Stub::ListContainers,
                                                                       cri::ListContainersRequest());
}

namespace {

template <typename Response>
nlohmann::json info_of(const Response& response) {
  const auto it = response.info().find("info");
  return it == response.info().end() ? nlohmann::json::object() : nlohmann::json::parse(it->second);
}

}  // namespace

nlohmann::json Cri::container_info(const std::string& id) {
  cri::ContainerStatusRequest r;
  r.set_container_id(id);
  r.set_verbose(true);
  return info_of(
      call<cri::ContainerStatusRequest, cri::ContainerStatusResponse>("ContainerStatus", &Stub::ContainerStatus, r));
}

nlohmann::json Cri::pod_info(const std::string& id) {
  cri::PodSandboxStatusRequest r;
  r.set_pod_sandbox_id(id);
  r.set_verbose(true);
  return info_of(call<cri::PodSandboxStatusRequest, cri::PodSandboxStatusResponse>("PodSandboxStatus",
                                                                                   &Stub::PodSandboxStatus, r));
}

}  // namespace lxe::bench
