#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "lxd/client.h"
#include "reconcile/host_files.h"

namespace lxe::cri {

namespace {

// lxe-init's exec mode runs the command with a timeout inside the container (LXD's exec API has
// none) and marks a timeout with exit code 124 and this line on stderr.
constexpr int kTimeoutExitCode = 124;
constexpr const char* kTimeoutMarker = "lxe-init: exec timed out after";

}  // namespace

::grpc::Status RuntimeService::ExecSync(::grpc::ServerContext*, const v1::ExecSyncRequest* request,
                                        v1::ExecSyncResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::ContainerRecord> c;
    if (auto status = find_container(request->container_id(), c); !status.ok()) return status;
    if (request->cmd().empty()) return invalid("ExecSync: cmd is empty");
    if (request->timeout() < 0) return invalid("ExecSync: timeout must not be negative");
    if (c->observed_state != store::ContainerObserved::Running)
      return failed_precondition("ExecSync: container " + c->id + " is not running");

    std::vector<std::string> command = {reconcile::kInitPathInContainer, "exec", "--timeout",
                                        std::to_string(request->timeout()), "--"};
    command.insert(command.end(), request->cmd().begin(), request->cmd().end());
    // LXD bounds the wait too, a little after lxe-init's own timeout would have fired.
    std::optional<std::chrono::milliseconds> bound;
    if (request->timeout() > 0) bound = std::chrono::seconds(request->timeout() + 30);
    lxd::ExecResult result;
    try {
      result = ctx_.lxd.exec(c->lxd_name, command, {}, "", bound);
    } catch (const lxd::Error& e) {
      // LXD reports any exec that exits 127 as a failed operation ("Command not found"), output
      // and all. Give the caller what a shell would: exit code 127.
      if (e.kind() != lxd::ErrorKind::OperationFailed ||
          std::string(e.what()).find("Command not found") == std::string::npos)
        throw;
      result.exit_code = 127;
      result.stderr_data = "command not found (or it exited with 127): " + request->cmd(0) + "\n";
    }
    if (request->timeout() > 0 && result.exit_code == kTimeoutExitCode &&
        result.stderr_data.find(kTimeoutMarker) != std::string::npos)
      return {::grpc::StatusCode::DEADLINE_EXCEEDED,
              "ExecSync: command timed out after " + std::to_string(request->timeout()) + " s"};
    response->set_stdout(result.stdout_data);
    response->set_stderr(result.stderr_data);
    response->set_exit_code(result.exit_code);
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
