#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "cri/validation.h"

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
    // lxe-init does not yet keep a container's stdin and terminal for attaching: no URL rather
    // than one whose session fails.
    (void)response;
    return {::grpc::StatusCode::UNIMPLEMENTED, "Attach: attaching to container " + c->id +
                                                    " is not implemented yet (exec and port-forward are)"};
  });
}

}  // namespace lxe::cri
