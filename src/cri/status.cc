#include <nlohmann/json.hpp>

#include "common/version.h"
#include "cri/runtime_service.h"
#include "lxd/api.h"
#include "lxd/health.h"
#include "reconcile/bridge_keeper.h"
#include "reconcile/cni.h"
#include "reconcile/pod_network.h"
#include "reconcile/reconciler.h"
#include "reconcile/volumes.h"

namespace lxe::cri {

::grpc::Status RuntimeService::Status(::grpc::ServerContext*, const runtime::v1::StatusRequest* request,
                                      runtime::v1::StatusResponse* response) {
  // Answered from the background health check: kubelet polls Status and must never wait on LXD.
  const lxd::Health health = ctx_.lxd_health.current();

  auto* runtime_ready = response->mutable_status()->add_conditions();
  runtime_ready->set_type("RuntimeReady");
  runtime_ready->set_status(health.reachable);
  if (!health.reachable) {
    runtime_ready->set_reason(health.reason);
    runtime_ready->set_message(health.message);
  }

  // Each pod has a network namespace of its own (shared by its containers). Without a network
  // plugin that is all (always ready); with the bridge, ready while the bridge is as configured.
  auto* network_ready = response->mutable_status()->add_conditions();
  network_ready->set_type("NetworkReady");
  // With CNI, ready while the conf dir has a usable network: read at each call (a small
  // directory), so a config put there or fixed counts at once, without an lxe restart.
  std::string network_problem;
  if (ctx_.bridge) {
    network_problem = ctx_.bridge->problem();
    if (!network_problem.empty()) network_problem = "lxe bridge " + ctx_.network.bridge_name + ": " + network_problem;
  } else if (ctx_.network.plugin == reconcile::NetworkPlugin::Cni) {
    network_problem = reconcile::cni::load_network(ctx_.network.cni).problem;
    if (!network_problem.empty()) network_problem = "cni: " + network_problem;
  }
  network_ready->set_status(network_problem.empty());
  if (!network_problem.empty()) {
    network_ready->set_reason("NetworkPluginNotReady");
    network_ready->set_message(network_problem);
  }

  // Not a condition kubelet acts on (it reads RuntimeReady and NetworkReady): for operators and
  // crictl info. False while adoption after a restart runs, or while the queue does not move.
  const auto reconciler_health = ctx_.reconciler.health();
  const auto readiness = reconcile::readiness_of(reconciler_health);
  auto* reconciler_ready = response->mutable_status()->add_conditions();
  reconciler_ready->set_type("ReconcilerReady");
  reconciler_ready->set_status(readiness.ready);
  if (!readiness.ready) {
    reconciler_ready->set_reason(readiness.reason);
    reconciler_ready->set_message(readiness.message);
  }

  // lxe-init applies supplemental_groups_policy (Merge and Strict) to a container's process and
  // reports the groups it gave in ContainerStatus.user.
  response->mutable_features()->set_supplemental_groups_policy(true);

  if (request->verbose()) {
    nlohmann::json info = {
        {"runtime", {{"name", kRuntimeName}, {"version", kVersion}}},
        {"lxd",
         {{"socket", ctx_.lxd.socket_path()},
          {"reachable", health.reachable},
          {"serverVersion", health.server_version},
          {"message", health.message}}},
        {"network",
         {{"plugin", reconcile::to_string(ctx_.network.plugin)},
          {"bridge", ctx_.bridge ? nlohmann::json(ctx_.network.bridge_name) : nlohmann::json(nullptr)},
          {"subnet", ctx_.bridge ? nlohmann::json(ctx_.network.subnet.to_string()) : nlohmann::json(nullptr)},
          {"ready", network_problem.empty()},
          {"message", network_problem}}},
    };
    info["reconciler"] = {{"adopted", reconciler_health.adopted},
                          {"adoptionSeconds", reconciler_health.adoption_took.count()},
                          {"queued", reconciler_health.queued},
                          {"processing", reconciler_health.processing},
                          {"failing", reconciler_health.failing},
                          {"oldestReadyWaitSeconds", reconciler_health.oldest_ready_wait.count()}};
    // How host-path volumes reach containers: idmapped staged mounts, or LXD's plain disk devices
    // (host root shows as nobody in the container) and why. null until lxe has decided.
    const auto volumes = ctx_.volumes.decided();
    info["volumes"] = {
        {"idmappedMounts", volumes ? nlohmann::json(volumes->idmapped) : nlohmann::json(nullptr)},
        {"message", !volumes             ? "not decided yet: LXD has not answered since lxe started"
                    : volumes->idmapped ? "host paths are staged as mounts idmapped like the container: host root is "
                                          "container root inside them"
                                        : "idmapped mounts are not available (" + volumes->reason +
                                              "): host paths are plain LXD disk devices, where host root shows as "
                                              "nobody"}};
    (*response->mutable_info())["lxe"] = info.dump();
  }
  return ::grpc::Status::OK;
}

}  // namespace lxe::cri
