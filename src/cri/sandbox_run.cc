#include <filesystem>

#include "common/time.h"
#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "cri/validation.h"
#include "reconcile/lxd_specs.h"
#include "reconcile/naming.h"
#include "reconcile/reconciler.h"

namespace lxe::cri {

namespace {

::grpc::Status validate(const v1::RunPodSandboxRequest& request) {
  if (!request.has_config()) return invalid("RunPodSandbox: config is missing");
  const auto& config = request.config();
  if (!config.has_metadata()) return invalid("RunPodSandbox: config.metadata is missing");
  const auto& m = config.metadata();
  if (m.name().empty()) return invalid("RunPodSandbox: metadata.name is empty");
  if (m.namespace_().empty()) return invalid("RunPodSandbox: metadata.namespace is empty");
  if (m.uid().empty()) return invalid("RunPodSandbox: metadata.uid is empty");
  for (const auto& [field, value] : {std::pair<const char*, const std::string&>{"metadata.name", m.name()},
                                      {"metadata.namespace", m.namespace_()},
                                      {"metadata.uid", m.uid()},
                                      {"log_directory", config.log_directory()}})
    if (auto problem = control_character_problem(value); !problem.empty())
      return invalid(std::string("RunPodSandbox: ") + field + " " + problem);
  if (!config.log_directory().empty() && !std::filesystem::path(config.log_directory()).is_absolute())
    return invalid("RunPodSandbox: log_directory '" + config.log_directory() + "' is not an absolute path");
  if (!config.hostname().empty() && !reconcile::valid_hostname(config.hostname()))
    return invalid("RunPodSandbox: hostname '" + config.hostname() +
                   "' is not a valid hostname (RFC 1123 labels, at most 63 characters)");
  if (config.has_dns_config()) {
    const auto& dns = config.dns_config();
    for (const auto* list : {&dns.servers(), &dns.searches(), &dns.options()})
      for (const auto& value : *list)
        if (value.empty() || value.find_first_of(" \t\r\n") != std::string::npos ||
            !control_character_problem(value).empty())
          return invalid("RunPodSandbox: dns_config entry '" + value +
                         "' is empty or contains whitespace or a control character");
  }
  if (!request.runtime_handler().empty() && request.runtime_handler() != "lxe")
    return invalid("RunPodSandbox: runtime handler '" + request.runtime_handler() +
                   "' is not known; lxe has only its default handler (empty or \"lxe\")");
  if (config.has_linux() && config.linux().has_security_context()) {
    const auto& ns = config.linux().security_context().namespace_options();
    if (ns.network() == v1::NODE)
      return invalid("RunPodSandbox: host network pods are not supported by lxe: containers get the pod's own "
                     "network namespace");
  }
  return ::grpc::Status::OK;
}

}  // namespace

::grpc::Status RuntimeService::RunPodSandbox(::grpc::ServerContext* context, const v1::RunPodSandboxRequest* request,
                                             v1::RunPodSandboxResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    if (auto status = validate(*request); !status.ok()) return status;
    const auto& config = request->config();
    const auto& m = config.metadata();

    store::SandboxRecord created;
    std::vector<WaitTarget> targets;
    auto status = record("RunPodSandbox", [&](store::Registry::Change& change,
                                              std::vector<WaitTarget>& waits) -> ::grpc::Status {
      for (const auto& [id, s] : change.all_sandboxes()) {
        if (s.name == m.name() && s.namespace_ == m.namespace_() && s.uid == m.uid() && s.attempt == m.attempt())
          return {::grpc::StatusCode::ALREADY_EXISTS,
                  "pod sandbox " + m.namespace_() + "/" + m.name() + " (uid " + m.uid() + ", attempt " +
                      std::to_string(m.attempt()) + ") already exists as " + id +
                      (s.desired_state == store::SandboxState::Removed ? " (being removed; retry when it is gone)"
                                                                       : "")};
      }
      do {
        created.id = reconcile::new_id();
        created.lxd_name = reconcile::sandbox_lxd_name(ctx_.lxd_name_prefix, m.name(), created.id);
      } while (change.sandbox(created.id));
      created.name = m.name();
      created.namespace_ = m.namespace_();
      created.uid = m.uid();
      created.attempt = m.attempt();
      created.runtime_handler = request->runtime_handler();
      created.labels = {config.labels().begin(), config.labels().end()};
      created.annotations = {config.annotations().begin(), config.annotations().end()};
      created.config_json = reconcile::to_json(config);
      created.created_at = now_ns();
      created.desired_state = store::SandboxState::Ready;
      change.put(created);
      waits.push_back({store::ObjectKind::Sandbox, created.id, created.generation});
      return ::grpc::Status::OK;
    }, targets);
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
