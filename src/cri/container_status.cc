#include <nlohmann/json.hpp>

#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "cri/translate.h"

namespace lxe::cri {

// Answered from the store alone: no LXD call on this path (kubelet polls it).
::grpc::Status RuntimeService::ContainerStatus(::grpc::ServerContext*, const v1::ContainerStatusRequest* request,
                                               v1::ContainerStatusResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::ContainerRecord> c;
    if (auto status = find_container(request->container_id(), c); !status.ok()) return status;
    if (const auto parts = status_parts_.get(*c); !parts->problem.empty())
      return {::grpc::StatusCode::DATA_LOSS, "ContainerStatus: container " + c->id + ": " + parts->problem};
    *response->mutable_status() = to_container_status(*c, &status_parts_);
    if (request->verbose()) {
      nlohmann::json info = {
          {"sandboxID", c->sandbox_id},
          {"lxdInstance", c->lxd_name},
          {"desiredState", store::to_string(c->desired_state)},
          {"observedState", store::to_string(c->observed_state)},
          {"generation", c->generation},
          {"observedGeneration", c->observed_generation},
          {"lastError", c->last_error},
          {"lastErrorKind", store::to_string(c->last_error_kind)},
          {"config", nlohmann::json::parse(c->config_json, nullptr, false)},
      };
      (*response->mutable_info())["info"] = info.dump();
    }
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
