#include "cri/runtime_service.h"
#include "cri/translate.h"

namespace lxe::cri {

// Answered from memory: kubelet lists every second.
::grpc::Status RuntimeService::ListPodSandbox(::grpc::ServerContext*, const v1::ListPodSandboxRequest* request,
                                              v1::ListPodSandboxResponse* response) {
  const auto& filter = request->filter();
  ctx_.registry.for_each_sandbox([&](const store::SandboxRecord& s) {
    if (store::removed_for_cri(s)) return;
    if (request->has_filter()) {
      if (!filter.id().empty() && s.id.rfind(filter.id(), 0) != 0) return;
      if (filter.has_state() && filter.state().state() != sandbox_state(s)) return;
      if (!labels_match(s.labels, filter.label_selector())) return;
    }
    *response->add_items() = to_pod_sandbox(s);
  });
  return ::grpc::Status::OK;
}

}  // namespace lxe::cri
