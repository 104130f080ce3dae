// CRI RuntimeService: validates requests, records desired state, waits for the reconciler where
// CRI makes a call synchronous, and maps errors to statuses. RPCs are grouped one file each,
// as containerd's CRI server does (sandbox_run.cc, container_create.cc, ...). RPCs not overridden
// here answer UNIMPLEMENTED, with a message naming them (CallInterceptor).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "cri/runtime_context.h"
#include "cri/translate.h"
#include "reconcile/errors.h"
#include "runtime/v1/api.grpc.pb.h"
#include "store/registry.h"
#include "streaming/requests.h"

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
  ::grpc::Status UpdatePodSandboxResources(::grpc::ServerContext*, const v1::UpdatePodSandboxResourcesRequest*,
                                           v1::UpdatePodSandboxResourcesResponse*) override;

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
  // container_exec.cc, container_attach.cc, sandbox_portforward.cc: URLs on the streaming server
  ::grpc::Status Exec(::grpc::ServerContext*, const v1::ExecRequest*, v1::ExecResponse*) override;
  ::grpc::Status Attach(::grpc::ServerContext*, const v1::AttachRequest*, v1::AttachResponse*) override;
  ::grpc::Status PortForward(::grpc::ServerContext*, const v1::PortForwardRequest*, v1::PortForwardResponse*) override;
  ::grpc::Status ContainerStats(::grpc::ServerContext*, const v1::ContainerStatsRequest*,
                                v1::ContainerStatsResponse*) override;
  ::grpc::Status ListContainerStats(::grpc::ServerContext*, const v1::ListContainerStatsRequest*,
                                    v1::ListContainerStatsResponse*) override;
  ::grpc::Status PodSandboxStats(::grpc::ServerContext*, const v1::PodSandboxStatsRequest*,
                                 v1::PodSandboxStatsResponse*) override;
  ::grpc::Status ListMetricDescriptors(::grpc::ServerContext*, const v1::ListMetricDescriptorsRequest*,
                                       v1::ListMetricDescriptorsResponse*) override;
  ::grpc::Status ListPodSandboxMetrics(::grpc::ServerContext*, const v1::ListPodSandboxMetricsRequest*,
                                       v1::ListPodSandboxMetricsResponse*) override;
  ::grpc::Status ListPodSandboxStats(::grpc::ServerContext*, const v1::ListPodSandboxStatsRequest*,
                                     v1::ListPodSandboxStatsResponse*) override;
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

  // The one "record, wake, wait" path of every mutating call. A call validates its request, then:
  //   record(): runs `stage` inside one store change. `stage` refuses by returning a non-OK
  //     status (nothing is written), or stages the new desired state (Record::new_generation())
  //     and names what the call waits for in `targets`. What was staged is committed, the crash
  //     point "store-written:<call>" fires, and the reconciler is woken for every target.
  //   wait(): until every target is reached, one fails, or the call's deadline passes.
  //   status_of(): the call's answer for how the wait ended.
  // Staging nothing and naming targets joins a change recorded earlier (a retried StopContainer).
  struct WaitTarget {
    store::ObjectKind kind;
    std::string id;
    // Reached once the reconciler has brought LXD to this generation (observed_generation), or
    // the record is gone; 0: reached only when the record is gone.
    int64_t generation = 0;
  };
  struct WaitResult {
    enum class End { Reached, Failed, TimedOut };
    End end = End::Reached;
    // Failed: the failure that ended the wait. TimedOut: LXD's last transient refusal, if any.
    reconcile::Failure failure;
    bool reached() const { return end == End::Reached; }
  };
  using Stage = std::function<::grpc::Status(store::Registry::Change&, std::vector<WaitTarget>& targets)>;
  ::grpc::Status record(const std::string& call, const Stage& stage, std::vector<WaitTarget>& targets);
  // record() for a call that makes a new record under unique names (RunPodSandbox, CreateContainer).
  // A `stage` that finds the names held by a record removed for CRI (store/records.h) sets
  // `held_by` to its ID and refuses; that record goes once LXD has deleted its objects, about a
  // second later. It is waited for, within the call's deadline, and the stage recorded once more.
  // `held_by` is left set when the names are still held at the end.
  ::grpc::Status record_when_names_free(::grpc::ServerContext* context, const std::string& call, const Stage& stage,
                                        std::vector<WaitTarget>& targets, store::ObjectKind kind,
                                        std::string& held_by);
  // One policy for every call: a failure recorded on a target ends the wait, except LXD being busy
  // for a moment (FailureKind::Busy), which the reconciler retries while the caller waits on.
  WaitResult wait(::grpc::ServerContext* context, const std::vector<WaitTarget>& targets) const;
  // OK when reached; the failure's status (reconcile_failure) when one ended it;
  // DEADLINE_EXCEEDED "<call>: <timeout_text>" when time ran out.
  ::grpc::Status status_of(const std::string& call, const WaitResult& result, const std::string& timeout_text) const;

  // The status for a recorded reconcile failure: by its kind (cri/errors.h), and UNAVAILABLE
  // whenever the health check finds LXD unreachable (LXD going down mid-call can look like a
  // plain refusal).
  ::grpc::Status reconcile_failure(const std::string& call, const reconcile::Failure& failure) const;

  // Waits until `done(view)` holds, bounded by the call's deadline and ctx_.max_wait.
  bool wait_for(::grpc::ServerContext* context,
                const std::function<bool(const store::Registry::View&)>& done) const;

  // The URL for a validated streaming request (UNAVAILABLE without a server, RESOURCE_EXHAUSTED
  // when too many URLs wait).
  ::grpc::Status streaming_url(const std::string& call, streaming::Request request, std::string& url) const;

  RuntimeContext ctx_;
  StatusPartsCache status_parts_;  // ContainerStatus and GetContainerEvents: parsed record JSON
};

}  // namespace lxe::cri
