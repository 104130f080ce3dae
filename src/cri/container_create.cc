#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/time.h"
#include "cri/errors.h"
#include "images/catalog.h"
#include "model/capabilities.h"
#include "model/image_config.h"
#include "model/security_context.h"
#include "cri/runtime_service.h"
#include "cri/validation.h"
#include "reconcile/lxd_specs.h"
#include "model/naming.h"
#include "model/stored_config.h"
#include "reconcile/reconciler.h"

namespace lxe::cri {

namespace fs = std::filesystem;

::grpc::Status RuntimeService::CreateContainer(::grpc::ServerContext* context,
                                               const v1::CreateContainerRequest* request,
                                               v1::CreateContainerResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    if (auto problem = create_container_problem(*request); !problem.empty())
      return invalid("CreateContainer: " + problem);
    std::optional<store::SandboxRecord> sandbox;
    if (auto status = find_sandbox(request->pod_sandbox_id(), sandbox); !status.ok()) return status;
    if (sandbox->desired_state != store::SandboxState::Ready ||
        sandbox->observed_state != store::SandboxObserved::Ready)
      return failed_precondition("CreateContainer: pod sandbox " + sandbox->id + " is not ready");
    const auto& config = request->config();
    const auto sandbox_config = model::parse_sandbox_config(sandbox->config_json);

    std::string log_path;
    if (auto problem = log_path_problem(sandbox_config.log_directory(), config.log_path(), log_path);
        !problem.empty())
      return invalid("CreateContainer: " + problem);
    const auto image = ctx_.images.find(config.image().image());
    if (!image)
      return not_found("CreateContainer: image '" + config.image().image() +
                       "' is not there; pull it first (PullImage), or import an LXD image with `lxc image import "
                       "... --alias NAME`");
    // An OCI image lxe pulled brings its process defaults; the container keeps a copy.
    std::string image_defaults;
    if (image->pulled && image->record.source == "oci") {
      image_defaults = image->record.defaults;
      const auto defaults = model::image_defaults_from_json(nlohmann::json::parse(image_defaults));
      const auto process = model::container_process(config, &defaults);
      if (const auto* why = std::get_if<std::string>(&process))
        return invalid("CreateContainer: image '" + config.image().image() + "': " + *why);
    } else if (const auto process = model::container_process(config, nullptr);
               std::holds_alternative<std::string>(process)) {
      return invalid("CreateContainer: " + std::get<std::string>(process));
    }
    // Its image's own init runs it, not lxe-init (reconcile::runs_image_init).
    const bool system_container = image_defaults.empty() && config.command().empty() && config.args().empty();
    if (auto problem = reconcile::container_namespace_problem(*sandbox, sandbox_config, config, system_container);
        !problem.empty())
      return invalid("CreateContainer: " + problem);
    if (auto problem = reconcile::security_mounts_problem(config, system_container); !problem.empty())
      return invalid("CreateContainer: " + problem);
    // Capabilities, privileged, no_new_privs, seccomp and groups (model/security_context.h): a
    // system container's init gets none of them from lxe-init.
    if (auto problem = model::security_context_problem(config, sandbox_config, system_container); !problem.empty())
      return invalid("CreateContainer: " + problem);
    // A Localhost seccomp profile is read now and kept with the container. A privileged container
    // ignores it, as with containerd.
    std::string seccomp_profile;
    const auto& security = config.linux().security_context();
    if (const auto choice = std::get<model::SeccompChoice>(model::seccomp_choice(security));
        choice.kind == model::SeccompChoice::Kind::Localhost && !security.privileged()) {
      const auto loaded = model::load_localhost_profile(
          choice.localhost_path, model::process_capabilities(config, model::host_last_capability()));
      if (!loaded.problem.empty()) return invalid("CreateContainer: " + loaded.problem);
      seccomp_profile = loaded.profile;
    }
    // As containerd does (WithMounts: MkdirAll of a host path that does not exist): kubelet sends
    // hostPath volumes of type "" (no check) that may not exist, and relies on the runtime.
    for (int i = 0; i < config.mounts_size(); ++i) {
      const auto& m = config.mounts(i);
      std::error_code ec;
      if (fs::exists(m.host_path(), ec)) continue;
      if (ec && ec != std::errc::no_such_file_or_directory)
        return invalid("CreateContainer: mounts[" + std::to_string(i) + "].host_path '" + m.host_path() +
                       "' cannot be looked at: " + ec.message());
      fs::create_directories(m.host_path(), ec);
      if (ec)
        return invalid("CreateContainer: mounts[" + std::to_string(i) + "].host_path '" + m.host_path() +
                       "' does not exist and cannot be created: " + ec.message());
    }

    store::ContainerRecord created;
    std::vector<WaitTarget> targets;
    std::string held_by;  // a container removed for CRI whose record still holds the name
    const Stage stage = [&](store::Registry::Change& change, std::vector<WaitTarget>& waits) -> ::grpc::Status {
      held_by.clear();
      for (const auto& c : change.containers_of(sandbox->id)) {
        if (c.name != config.metadata().name() || c.attempt != config.metadata().attempt()) continue;
        if (store::removed_for_cri(c)) {
          held_by = c.id;
          return {::grpc::StatusCode::ALREADY_EXISTS, ""};
        }
        return {::grpc::StatusCode::ALREADY_EXISTS,
                  "CreateContainer: container " + config.metadata().name() + " (attempt " +
                      std::to_string(c.attempt) + ") already exists in pod sandbox " + sandbox->id + " as " + c.id +
                      (c.desired_state == store::ContainerState::Removed ? " (being removed; retry when it is gone)"
                                                                         : "")};
      }
      do {
        created.id = model::new_id();
      } while (change.container(created.id) || change.sandbox(created.id));
      created.sandbox_id = sandbox->id;
      created.name = config.metadata().name();
      created.attempt = config.metadata().attempt();
      created.lxd_name = model::container_lxd_name(ctx_.lxd_name_prefix, sandbox->name, created.name, created.id);
      created.image = config.image().image();
      created.image_ref = image->record.lxd_fingerprint;
      if (image->pulled) created.image_id = image->record.id;
      created.image_defaults = image_defaults;
      created.seccomp_profile = seccomp_profile;
      created.labels = {config.labels().begin(), config.labels().end()};
      created.annotations = {config.annotations().begin(), config.annotations().end()};
      created.config_json = model::to_json(config);
      if (config.has_linux() && config.linux().has_resources())
        created.resources_json = model::to_json(config.linux().resources());
      created.log_path = log_path;
      created.created_at = now_ns();
      created.desired_state = store::ContainerState::Created;
      change.put(created);
      waits.push_back({store::ObjectKind::Container, created.id, created.generation});
      return ::grpc::Status::OK;
    };
    // A container of the same name removed a moment ago is waited for while LXD deletes its instance.
    auto status =
        record_when_names_free(context, "CreateContainer", stage, targets, store::ObjectKind::Container, held_by);
    if (!held_by.empty())
      return {::grpc::StatusCode::ALREADY_EXISTS,
              "CreateContainer: container " + config.metadata().name() + " (attempt " +
                  std::to_string(config.metadata().attempt()) + ") of pod sandbox " + sandbox->id +
                  " was removed, and LXD is still deleting its instance (" + held_by + "); retry when it is gone"};
    if (!status.ok()) return status;

    const std::string id = created.id;
    const WaitResult waited = wait(context, targets);
    if (waited.reached() && ctx_.registry.container(id)) {
      response->set_container_id(id);
      return ::grpc::Status::OK;
    }
    {
      store::Registry::Change change(ctx_.registry);
      if (auto c = change.container(id)) {
        c->desired_state = store::ContainerState::Removed;
        c->new_generation();
        change.put(*c);
        change.commit();
      }
    }
    ctx_.reconciler.enqueue_container(id);
    if (waited.reached())  // gone before it was created: removed meanwhile
      return reconcile_failure("CreateContainer", {store::FailureKind::Refused, "the container was not created"});
    return status_of("CreateContainer", waited, "LXD did not create it in time");
  });
}

}  // namespace lxe::cri
