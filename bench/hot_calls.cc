#include "hot_calls.h"

namespace lxe::bench {

HotCalls::HotCalls(const std::vector<PodInfo>& pods) {
  version.set_version("0.1.0");
  has_objects_ = !pods.empty() && !(pods[pods.size() / 2].running.empty() && pods[pods.size() / 2].created.empty());
  if (has_objects_) {
    const auto& pod = pods[pods.size() / 2];
    pod_status.set_pod_sandbox_id(pod.id);
    container_status.set_container_id(!pod.running.empty() ? pod.running.front() : pod.created.front());
  }
  rpcs_ = {
      {"Version",
       [this](auto& s, auto* ctx) {
         cri::VersionResponse r;
         return s.Version(ctx, version, &r);
       }},
      {"Status",
       [this](auto& s, auto* ctx) {
         cri::StatusResponse r;
         return s.Status(ctx, status, &r);
       }},
      {"ListPodSandbox",
       [this](auto& s, auto* ctx) {
         cri::ListPodSandboxResponse r;
         return s.ListPodSandbox(ctx, list_pods, &r);
       }},
      {"ListContainers",
       [this](auto& s, auto* ctx) {
         cri::ListContainersResponse r;
         return s.ListContainers(ctx, list_containers, &r);
       }},
  };
  if (has_objects_) {
    rpcs_.push_back({"PodSandboxStatus", [this](auto& s, auto* ctx) {
                       cri::PodSandboxStatusResponse r;
                       return s.PodSandboxStatus(ctx, pod_status, &r);
                     }});
    rpcs_.push_back({"ContainerStatus", [this](auto& s, auto* ctx) {
                       cri::ContainerStatusResponse r;
                       return s.ContainerStatus(ctx, container_status, &r);
                     }});
  }
}

}  // namespace lxe::bench
