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

