#include "cri/attach_client.h"
#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "cri/validation.h"
#include "model/stored_config.h"
#include "reconcile/host_files.h"
#include "reconcile/lxd_specs.h"
#include "streaming/server.h"

namespace lxe::cri {

::grpc::Status RuntimeService::Attach(::grpc::ServerContext*, const v1::AttachRequest* request,
                                      v1::AttachResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::ContainerRecord> c;
    if (auto status = find_container(request->container_id(), c); !status.ok()) return status;
    if (auto problem = stream_choice_problem(request->tty(), request->stdin(), request->stdout(), request->stderr());
        !problem.empty())
      return invalid("Attach: " + problem);
    if (c->observed_state != store::ContainerObserved::Running)
      return failed_precondition("Attach: container " + c->id + " is not running");
    // Attaching goes through the socket lxe-init keeps (attach_client.h). An image's own init has
    // no such thing, and an lxe-init from before attach neither: no URL rather than one whose
    // session fails.
    if (reconcile::runs_image_init(*c, model::parse_container_config(c->config_json)))
      return failed_precondition("Attach: container " + c->id +
                                 " runs its image's own init, which lxe cannot attach to (only to a command it runs)");
    if (!attach::attach_socket_exists(ctx_.files.attach_socket(c->id)))
      return failed_precondition("Attach: container " + c->id +
                                 " was started by an lxe without attach support; restart it to attach");
    streaming::AttachRequest attach{c->id, request->tty(), request->stdin(), request->stdout(), request->stderr()};
    std::string url;
    if (auto status = streaming_url("Attach", std::move(attach), url); !status.ok()) return status;
    response->set_url(url);
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
