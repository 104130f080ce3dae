// CRI RuntimeService: validates requests, records desired state, waits for the reconciler where
// CRI makes a call synchronous, and maps errors to statuses. RPCs are grouped one file each,
// as containerd's CRI server does (sandbox_run.cc, container_create.cc, ...). RPCs not overridden
// here answer UNIMPLEMENTED, with a message naming them (CallInterceptor).
#pragma once

#include <chrono>
#include <functional>

#include "cri/runtime_context.h"
#include "cri/translate.h"
#include "runtime/v1/api.grpc.pb.h"
#include "store/registry.h"

namespace lxe::cri {

namespace v1 = ::runtime::v1;

class RuntimeService final : public v1::RuntimeService::Service {
 public:
  explicit RuntimeService(RuntimeContext context) : ctx_(context) {}

  // version.cc, status.cc, runtime_config.cc
  ::grpc::Status Version(::grpc::ServerContext*, const v1::VersionRequest*, v1::VersionResponse*) override;
  ::grpc::Status Status(::grpc::ServerContext*, const v1::StatusRequest*, v1::StatusResponse*) override;
  ::grpc::Status UpdateRuntimeConfig(::grpc::ServerContext*, const v1::UpdateRuntimeConfigRequest*,
                                     v1::UpdateRuntimeConfigResponse*) override;
  ::grpc::Status RuntimeConfig(::grpc::ServerContext*, const v1::RuntimeConfigRequest*,
                               v1::RuntimeConfigResponse*) override;

  // sandbox_run.cc, sandbox_stop.cc, sandbox_remove.cc, sandbox_status.cc, sandbox_list.cc
  ::grpc::Status RunPodSandbox(::grpc::ServerContext*, const v1::RunPodSandboxRequest*,
                               v1::RunPodSandboxResponse*) override;
  ::grpc::Status StopPodSandbox(::grpc::ServerContext*, const v1::StopPodSandboxRequest*,
                                v1::StopPodSandboxResponse*) override;
  ::grpc::Status RemovePodSandbox(::grpc::ServerContext*, const v1::RemovePodSandboxRequest*,
                                  v1::RemovePodSandboxResponse*) override;
  ::grpc::Status PodSandboxStatus(::grpc::ServerContext*, const v1::PodSandboxStatusRequest*,
                                  v1::PodSandboxStatusResponse*) override;
  ::grpc::Status ListPodSandbox(::grpc::ServerContext*, const v1::ListPodSandboxRequest*,
                                v1::ListPodSandboxResponse*) override;

  // container_create.cc, container_start.cc, container_stop.cc, container_remove.cc,
  // container_status.cc, container_list.cc, container_exec.cc, container_log.cc
  ::grpc::Status CreateContainer(::grpc::ServerContext*, const v1::CreateContainerRequest*,
                                 v1::CreateContainerResponse*) override;
  ::grpc::Status StartContainer(::grpc::ServerContext*, const v1::StartContainerRequest*,
                                v1::StartContainerResponse*) override;
  ::grpc::Status StopContainer(::grpc::ServerContext*, const v1::StopContainerRequest*,
                               v1::StopContainerResponse*) override;
  ::grpc::Status RemoveContainer(::grpc::ServerContext*, const v1::RemoveContainerRequest*,
                                 v1::RemoveContainerResponse*) override;
  ::grpc::Status ContainerStatus(::grpc::ServerContext*, const v1::ContainerStatusRequest*,
                                 v1::ContainerStatusResponse*) override;
  ::grpc::Status ListContainers(::grpc::ServerContext*, const v1::ListContainersRequest*,
                                v1::ListContainersResponse*) override;
  ::grpc::Status ExecSync(::grpc::ServerContext*, const v1::ExecSyncRequest*, v1::ExecSyncResponse*) override;
  ::grpc::Status ReopenContainerLog(::grpc::ServerContext*, const v1::ReopenContainerLogRequest*,
                                    v1::ReopenContainerLogResponse*) override;
  // container_events.cc
  ::grpc::Status GetContainerEvents(::grpc::ServerContext*, const v1::GetEventsRequest*,
                                    ::grpc::ServerWriter<v1::ContainerEventResponse>*) override;
  // container_update.cc
  ::grpc::Status UpdateContainerResources(::grpc::ServerContext*, const v1::UpdateContainerResourcesRequest*,
                                          v1::UpdateContainerResourcesResponse*) override;

 private:
  // Finds a record by full ID or unique prefix. NOT_FOUND / INVALID_ARGUMENT otherwise;
  // `missing_ok` turns NOT_FOUND into OK with an empty result (for idempotent stop/remove).
  ::grpc::Status find_sandbox(const std::string& id, std::optional<store::SandboxRecord>& out) const;
  ::grpc::Status find_container(const std::string& id, std::optional<store::ContainerRecord>& out) const;

  // The status for a recorded reconcile failure: UNAVAILABLE when LXD did not answer (by the
  // error's own account or by the health check's: LXD going down mid-call can look like a plain
  // server error), else UNKNOWN with the error.
  ::grpc::Status reconcile_failure(const std::string& what, const std::string& last_error) const;

  // Waits until `done(view)` holds, bounded by the call's deadline and ctx_.max_wait.
  bool wait_for(::grpc::ServerContext* context,
                const std::function<bool(const store::Registry::View&)>& done) const;

  // Waits until container `id` is reconciled to `generation` (or gone); false on timeout.
  // `error` gets the reconcile error that ended the wait, if one did.
  bool wait_for_container(::grpc::ServerContext* context, const std::string& id, int64_t generation,
                          std::string& error) const;

  RuntimeContext ctx_;
  StatusPartsCache status_parts_;  // ContainerStatus and GetContainerEvents: parsed record JSON
};

}  // namespace lxe::cri
