#include "common/version.h"
#include "cri/runtime_service.h"

namespace lxe::cri {

::grpc::Status RuntimeService::Version(::grpc::ServerContext*, const runtime::v1::VersionRequest*,
                                       runtime::v1::VersionResponse* response) {
  // `version` is the version of the kubelet API the caller speaks; CRI's Version answers with ours
  // regardless, as other runtimes do.
  response->set_version(kKubeletRuntimeApiVersion);
  response->set_runtime_name(kRuntimeName);
  response->set_runtime_version(kVersion);
  response->set_runtime_api_version(kCriApiVersion);
  return ::grpc::Status::OK;
}

}  // namespace lxe::cri

namespace lxe::cri {

// kubelet sends the node's pod CIDR here. lxe gives each pod its own network namespace and leaves
// addressing to LXD's network configuration, so there is nothing to apply; the call succeeds.
::grpc::Status RuntimeService::UpdateRuntimeConfig(::grpc::ServerContext*, const v1::UpdateRuntimeConfigRequest*,
                                                   v1::UpdateRuntimeConfigResponse*) {
  return ::grpc::Status::OK;
}

}  // namespace lxe::cri
