#include "cri/runtime_service.h"
#include "cri/translate.h"

namespace lxe::cri {

// Answered from memory: kubelet lists every second.
::grpc::Status RuntimeService::ListContainers(::grpc::ServerContext*, const v1::ListContainersRequest* request,
                                              v1::ListContainersResponse* response) {
  const auto& filter = request->filter();
  for (const auto& c : ctx_.registry.containers()) {
    if (request->has_filter()) {
      if (!filter.id().empty() && c.id.rfind(filter.id(), 0) != 0) continue;
      if (!filter.pod_sandbox_id().empty() && c.sandbox_id.rfind(filter.pod_sandbox_id(), 0) != 0) continue;
      if (filter.has_state() && filter.state().state() != container_state(c)) continue;
      if (!labels_match(c.labels, filter.label_selector())) continue;
    }
    *response->add_containers() = to_container(c);
  }
  return ::grpc::Status::OK;
}

}  // namespace lxe::cri
