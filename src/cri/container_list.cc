#include "cri/runtime_service.h"
#include "cri/translate.h"

namespace lxe::cri {

// Answered from memory: kubelet lists every second.
::grpc::Status RuntimeService::ListContainers(::grpc::ServerContext*, const v1::ListContainersRequest* request,
                                              v1::ListContainersResponse* response) {
  const auto& filter = request->filter();
  ctx_.registry.for_each_container([&](const store::ContainerRecord& c) {
    if (store::removed_for_cri(c)) return;
    if (request->has_filter()) {
      if (!filter.id().empty() && c.id.rfind(filter.id(), 0) != 0) return;
      if (!filter.pod_sandbox_id().empty() && c.sandbox_id.rfind(filter.pod_sandbox_id(), 0) != 0) return;
      if (filter.has_state() && filter.state().state() != container_state(c)) return;
      if (!labels_match(c.labels, filter.label_selector())) return;
    }
    *response->add_containers() = to_container(c);
  });
  return ::grpc::Status::OK;
}

}  // namespace lxe::cri
