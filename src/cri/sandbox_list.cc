#include "cri/runtime_service.h"
#include "cri/translate.h"

namespace lxe::cri {

// Answered from memory: kubelet lists every second.
::grpc::Status RuntimeService::ListPodSandbox(::grpc::ServerContext*, const v1::ListPodSandboxRequest* request,
                                              v1::ListPodSandboxResponse* response) {
  const auto& filter = request->filter();
  for (const auto& s : ctx_.registry.sandboxes()) {
    if (request->has_filter()) {
      if (!filter.id().empty() && s.id.rfind(filter.id(), 0) != 0) continue;
      if (filter.has_state() && filter.state().state() != sandbox_state(s)) continue;
      if (!labels_match(s.labels, filter.label_selector())) continue;
    }
    *response->add_items() = to_pod_sandbox(s);
  }
  return ::grpc::Status::OK;
}

}  // namespace lxe::cri
