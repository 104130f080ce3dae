#include <nlohmann/json.hpp>

#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "cri/translate.h"

namespace lxe::cri {

// Answered from the store alone: no LXD call on this path (kubelet polls it).
::grpc::Status RuntimeService::PodSandboxStatus(::grpc::ServerContext*, const v1::PodSandboxStatusRequest* request,
                                                v1::PodSandboxStatusResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::SandboxRecord> s;
    if (auto status = find_sandbox(request->pod_sandbox_id(), s); !status.ok()) return status;
    *response->mutable_status() = to_pod_sandbox_status(*s);
    if (request->verbose()) {
      nlohmann::json info = {
          {"lxdProfile", s->lxd_name},
          {"lxdInstance", s->lxd_name},
          {"desiredState", store::to_string(s->desired_state)},
          {"observedState", store::to_string(s->observed_state)},
          {"generation", s->generation},
          {"observedGeneration", s->observed_generation},
          {"infraPid", s->infra_pid},
          {"podNamespaces", store::to_string(s->pod_namespaces)},
          {"pinnedNetns", s->pinned_netns},
          {"lastError", s->last_error},
          {"lastErrorKind", store::to_string(s->last_error_kind)},
          {"config", nlohmann::json::parse(s->config_json, nullptr, false)},
      };
      (*response->mutable_info())["info"] = info.dump();
    }
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
