#include <sched.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "common/time.h"
#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "cri/validation.h"
#include "reconcile/lxd_specs.h"
#include "model/naming.h"
#include "model/stored_config.h"
#include "reconcile/pod_namespaces.h"
#include "reconcile/pod_network.h"
#include "reconcile/reconciler.h"

namespace lxe::cri {

namespace {

bool same_host_port(const v1::PortMapping& a, const v1::PortMapping& b) {
  return a.host_port() == b.host_port() && a.protocol() == b.protocol() &&
         (a.host_ip() == b.host_ip() || a.host_ip().empty() || b.host_ip().empty());
}

// Why one of the pod's host ports cannot be had, or "". Other pods' stored configs are read only
// when this pod publishes a host port: few do.
std::string host_port_taken(const v1::PodSandboxConfig& config, const std::map<std::string, store::SandboxRecord>& pods) {
  for (const auto& mine : config.port_mappings()) {
    if (mine.host_port() <= 0) continue;
    for (const auto& [id, s] : pods) {
      if (s.desired_state != store::SandboxState::Ready) continue;
      const auto theirs = model::parse_sandbox_config(s.config_json);  // kept: the loop reads into it
      for (const auto& other : theirs.port_mappings())
        if (same_host_port(mine, other))
          return "host port " + reconcile::port_mapping_text(mine) + " is published by pod " + s.namespace_ + "/" +
                 s.name + " (" + id + ") already; stop that pod or choose another hostPort";
    }
    if (reconcile::host_port_in_use(mine.protocol() == v1::UDP, mine.host_ip(), mine.host_port()))
      return "host port " + reconcile::port_mapping_text(mine) +
             " is already in use on this host; free it or choose another hostPort";
  }
  return "";
}

}  // namespace

::grpc::Status RuntimeService::RunPodSandbox(::grpc::ServerContext* context, const v1::RunPodSandboxRequest* request,
                                             v1::RunPodSandboxResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    if (auto problem = run_pod_sandbox_problem(*request); !problem.empty())
      return invalid("RunPodSandbox: " + problem);
    const auto& config = request->config();
    const auto& m = config.metadata();
    const auto& modes = config.linux().security_context().namespace_options();
    const bool host_network = modes.network() == v1::NODE;
    // The host's namespace files are checked at each such pod: a bad flag only refuses these pods.
    for (const auto& [wanted, path, kind, flag, what] :
         {std::tuple{host_network, ctx_.network.host_netns, CLONE_NEWNET, "--host-netns", "network"},
          std::tuple{modes.pid() == v1::NODE, ctx_.host_pidns, CLONE_NEWPID, "--host-pidns", "pid"},
          std::tuple{modes.ipc() == v1::NODE, ctx_.host_ipcns, CLONE_NEWIPC, "--host-ipcns", "ipc"}}) {
      if (!wanted) continue;
      if (auto problem = reconcile::namespace_file_problem(path, kind); !problem.empty())
        return {::grpc::StatusCode::FAILED_PRECONDITION,
                std::string("RunPodSandbox: host ") + what + " pods join the namespace at " + flag + ", and " +
                    problem + " (give lxe " + flag + " a " + what + " namespace file of the host, e.g. /proc/<pid>/ns/" +
                    (kind == CLONE_NEWNET ? "net" : what) + " of a host process)"};
    }

    // CNI: the network the conf dir holds now is the pod's for its whole life (stored with it).
    std::optional<reconcile::cni::Network> cni_network;
    if (ctx_.network.plugin == reconcile::NetworkPlugin::Cni && !host_network) {
      // Name, namespace and uid go into CNI_ARGS, whose pairs are split at ';' and '='.
      if (auto problem = reconcile::cni::pod_ref_problem({"", m.name(), m.namespace_(), m.uid()}); !problem.empty())
        return invalid("RunPodSandbox: " + problem);
      auto loaded = reconcile::cni::load_network(ctx_.network.cni);
      if (!loaded.network)
        return {::grpc::StatusCode::FAILED_PRECONDITION,
                "RunPodSandbox: the CNI network is not ready: " + loaded.problem};
      cni_network = std::move(loaded.network);
    }

    store::SandboxRecord created;
    std::vector<WaitTarget> targets;
    std::string held_by;  // a pod removed for CRI whose record still holds the metadata
    const Stage stage = [&](store::Registry::Change& change, std::vector<WaitTarget>& waits) -> ::grpc::Status {
      held_by.clear();
      for (const auto& [id, s] : change.all_sandboxes()) {
        if (s.name != m.name() || s.namespace_ != m.namespace_() || s.uid != m.uid() || s.attempt != m.attempt())
          continue;
        if (store::removed_for_cri(s)) {
          held_by = id;
          return {::grpc::StatusCode::ALREADY_EXISTS, ""};
        }
        return {::grpc::StatusCode::ALREADY_EXISTS,
                  "pod sandbox " + m.namespace_() + "/" + m.name() + " (uid " + m.uid() + ", attempt " +
                      std::to_string(m.attempt()) + ") already exists as " + id +
                      (s.desired_state == store::SandboxState::Removed ? " (being removed; retry when it is gone)"
                                                                       : "")};
      }
      // Another ready pod publishing the port holds it even before its holder listens; anything
      // else on the host holding it is found by a trial bind (checked here, not as a failed start).
      if (auto taken = host_port_taken(config, change.all_sandboxes()); !taken.empty())
        return {::grpc::StatusCode::FAILED_PRECONDITION, "RunPodSandbox: " + taken};
      do {
        created.id = model::new_id();
        created.lxd_name = model::sandbox_lxd_name(ctx_.lxd_name_prefix, m.name(), created.id);
      } while (change.sandbox(created.id));
      created.name = m.name();
      created.namespace_ = m.namespace_();
      created.uid = m.uid();
      created.attempt = m.attempt();
      created.runtime_handler = request->runtime_handler();
      created.labels = {config.labels().begin(), config.labels().end()};
      created.annotations = {config.annotations().begin(), config.annotations().end()};
      created.config_json = model::to_json(config);
      created.created_at = now_ns();
      created.desired_state = store::SandboxState::Ready;
      // On lxe's bridge a pod without a holder is plugged in by CNI's bridge plugin
      // (reconcile::bridge_attachment); host ports are proxies of a holder.
      const bool on_bridge = ctx_.network.plugin == reconcile::NetworkPlugin::Bridge && !host_network;
      const bool host_ports = std::any_of(config.port_mappings().begin(), config.port_mappings().end(),
                                          [](const v1::PortMapping& p) { return p.host_port() > 0; });
      created.pod_namespaces = reconcile::pod_namespace_keeper(
          config, on_bridge && (host_ports || !reconcile::can_attach_to_bridge(ctx_.network.cni)),
          ctx_.pin_pod_namespaces);
      // The pod's address, taken in the same transaction as the pod: never handed out twice.
      created.pod_network = host_network ? std::string(reconcile::kHostNetwork) : ctx_.network.pod_network();
      if (cni_network) {
        // The address comes from the plugins' ADD, once the holder runs.
        created.pod_network = reconcile::cni_pod_network(cni_network->name);
        created.cni_network = cni_network->to_json().dump();
      } else if (ctx_.network.plugin == reconcile::NetworkPlugin::Bridge && !host_network) {
        const auto ip = reconcile::allocate_pod_ip(ctx_.network, change.all_sandboxes());
        if (!ip)
          return {::grpc::StatusCode::RESOURCE_EXHAUSTED,
                  "no free pod address in " + ctx_.network.subnet.to_string() + " on bridge " +
                      ctx_.network.bridge_name + ": every address is held by a ready pod (stop pods, or give lxe "
                      "a larger --bridge-subnet)"};
        created.pod_ip = *ip;
        if (created.pod_namespaces == store::PodNamespaces::Pinned)
          created.cni_network = reconcile::bridge_attachment(ctx_.network, *ip).to_json().dump();
      }
      change.put(created);
      waits.push_back({store::ObjectKind::Sandbox, created.id, created.generation});
      return ::grpc::Status::OK;
    };
    // The same pod (metadata and attempt) removed a moment ago is waited for while LXD deletes its
    // objects.
    auto status = record_when_names_free(context, "RunPodSandbox", stage, targets, store::ObjectKind::Sandbox, held_by);
    if (!held_by.empty())
      return {::grpc::StatusCode::ALREADY_EXISTS,
              "pod sandbox " + m.namespace_() + "/" + m.name() + " (uid " + m.uid() + ", attempt " +
                  std::to_string(m.attempt()) + ") was removed, and LXD is still deleting its objects (" + held_by +
                  "); retry when they are gone"};
    if (!status.ok()) return status;

    const std::string id = created.id;
    WaitResult waited = wait(context, targets);
    const auto now = ctx_.registry.sandbox(id);
    if (waited.reached() && now && now->observed_state == store::SandboxObserved::Ready) {
      response->set_pod_sandbox_id(id);
      return ::grpc::Status::OK;
    }
    // Failed or too slow: kubelet will try again with a new sandbox, so take this one down.
    {
      store::Registry::Change change(ctx_.registry);
      if (auto s = change.sandbox(id)) {
        s->desired_state = store::SandboxState::Removed;
        s->new_generation();
        change.put(*s);
        change.commit();
      }
    }
    ctx_.reconciler.enqueue_sandbox(id);
    if (waited.reached()) {  // reconciled, yet not ready (or gone): a failure all the same
      waited.end = WaitResult::End::Failed;
      waited.failure = {store::FailureKind::Refused, "the sandbox did not become ready"};
    }
    return status_of("RunPodSandbox", waited, "LXD did not get the pod ready in time");
  });
}

}  // namespace lxe::cri
