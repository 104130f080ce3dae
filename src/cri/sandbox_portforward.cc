#include "cri/errors.h"
#include "cri/runtime_service.h"

namespace lxe::cri {

::grpc::Status RuntimeService::PortForward(::grpc::ServerContext*, const v1::PortForwardRequest* request,
                                           v1::PortForwardResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::SandboxRecord> s;
    if (auto status = find_sandbox(request->pod_sandbox_id(), s); !status.ok()) return status;
    for (const int32_t port : request->port())
      if (port < 1 || port > 65535) return invalid("PortForward: port " + std::to_string(port) + " is not in 1-65535");
    if (s->observed_state != store::SandboxObserved::Ready)
      return failed_precondition("PortForward: pod sandbox " + s->id + " is not ready");
    streaming::PortForwardRequest forward{s->id, {request->port().begin(), request->port().end()}};
    std::string url;
    if (auto status = streaming_url("PortForward", std::move(forward), url); !status.ok()) return status;
    response->set_url(url);
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
