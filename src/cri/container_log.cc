#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "lxd/client.h"
#include "model/stored_config.h"
#include "reconcile/host_files.h"
#include "reconcile/lxd_specs.h"

namespace lxe::cri {

// kubelet has renamed the log file to rotate it: make a new one the container's root may write,
// then tell lxe-init (SIGUSR1) to reopen it. The init PID comes from one /state call: this RPC is
// rare (once per rotation), never on a hot path.
::grpc::Status RuntimeService::ReopenContainerLog(::grpc::ServerContext*, const v1::ReopenContainerLogRequest* request,
                                                  v1::ReopenContainerLogResponse*) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::ContainerRecord> c;
    if (auto status = find_container(request->container_id(), c); !status.ok()) return status;
    if (c->observed_state != store::ContainerObserved::Running)
      return failed_precondition("ReopenContainerLog: container " + c->id + " is not running");
    // Without a log path, or in a system container (the image's own init, no lxe-init writing
    // the log), there is nothing to reopen; signalling that init could even shut it down.
    if (c->log_path.empty() || reconcile::runs_image_init(*c, model::parse_container_config(c->config_json)))
      return ::grpc::Status::OK;

    struct stat owner {};
    const std::string state_dir = ctx_.files.container_dir(c->id);
    if (::stat(state_dir.c_str(), &owner) != 0)
      return {::grpc::StatusCode::INTERNAL, "ReopenContainerLog: state directory " + state_dir + " is missing"};
    struct stat existing {};
    if (::stat(c->log_path.c_str(), &existing) != 0) {
      reconcile::write_file_atomic(c->log_path, "", 0640);
      reconcile::change_owner(c->log_path, owner.st_uid, owner.st_gid);
    }
    const int64_t pid = ctx_.lxd.get_instance_state(c->lxd_name).pid;
    if (pid <= 0) return failed_precondition("ReopenContainerLog: container " + c->id + " is not running");
    if (::kill(static_cast<pid_t>(pid), SIGUSR1) != 0)
      return {::grpc::StatusCode::INTERNAL,
              std::string("ReopenContainerLog: cannot signal the container's init: ") + std::strerror(errno)};
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
