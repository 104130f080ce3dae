#include <optional>

#include "cri/errors.h"
#include "cri/exec_command.h"
#include "cri/runtime_service.h"
#include "cri/validation.h"
#include "lxd/client.h"
#include "model/stored_config.h"
#include "reconcile/host_files.h"
#include "reconcile/lxd_specs.h"
#include "streaming/server.h"

namespace lxe::cri {

namespace {

// lxe-init's exec mode runs the command with a timeout inside the container (LXD's exec API has
// none) and marks a timeout with exit code 124 and this line on stderr.
constexpr int kTimeoutExitCode = 124;
constexpr const char* kTimeoutMarker = "lxe-init: exec timed out after";
// How an lxe-init without --spec refuses it.
constexpr int kUsageExitCode = 2;
constexpr const char* kOldUsagePrefix = "lxe-init: usage: lxe-init exec --timeout SECONDS -- ";

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

    // A container whose command lxe-init runs: the exec takes that command's environment, working
    // directory and uid/gid from its spec.json. A system container (the image's own init) has no
    // spec; its execs run as LXD starts them (root, with the environment.* keys).
    const bool with_spec = !reconcile::runs_image_init(*c, model::parse_container_config(c->config_json));
    const std::vector<std::string> cmd(request->cmd().begin(), request->cmd().end());
    // LXD bounds the wait too, a little after lxe-init's own timeout would have fired.
    std::optional<std::chrono::milliseconds> bound;
    if (request->timeout() > 0) bound = std::chrono::seconds(request->timeout() + 30);
    // Nothing when the instance turned out not to run.
    const auto run = [&](bool spec) -> std::optional<lxd::ExecResult> {
      lxd::ExecResult result;
      try {
        result = ctx_.lxd.exec(c->lxd_name, lxe_init_exec_command(request->timeout(), spec, cmd), {}, "", bound);
      } catch (const lxd::Error& e) {
        // The container stopped after the store last saw it run (kubelet goes on running readiness
        // probes while it stops a pod), and LXD refuses the exec as a bad request. That is the
        // container's state, not the caller's mistake: answered as for a container known stopped.
        if (e.kind() == lxd::ErrorKind::BadRequest && ctx_.lxd.get_instance(c->lxd_name).status != "Running")
          return std::nullopt;
        throw;
      }
      if (result.command_not_found && result.stderr_data.empty())
        result.stderr_data = "command not found (or it exited with 127): " + cmd[0] + "\n";
      return result;
    };
    std::optional<lxd::ExecResult> ran = run(with_spec);
    // A container started before lxe learnt --spec keeps the lxe-init it started with (bind-mounted
    // inode; upgrades never restart containers). It refuses the flag with its usage line: run the
    // exec the way that lxe-init knows.
    if (ran && with_spec && ran->exit_code == kUsageExitCode && ran->stdout_data.empty() &&
        ran->stderr_data.rfind(kOldUsagePrefix, 0) == 0)
      ran = run(false);
    if (!ran)
      return failed_precondition("ExecSync: container " + c->id +
                                 " is not running (it stopped before the command could start)");
    const lxd::ExecResult& result = *ran;
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

namespace lxe::cri {

::grpc::Status RuntimeService::streaming_url(const std::string& call, streaming::Request request, std::string& url) const {
  if (!ctx_.streaming) return {::grpc::StatusCode::UNAVAILABLE, call + ": lxe's streaming server is not running"};
  auto made = ctx_.streaming->url_for(std::move(request));
  if (const auto* error = std::get_if<streaming::UrlError>(&made))
    return {::grpc::StatusCode::RESOURCE_EXHAUSTED, call + ": " + error->message};
  url = std::get<std::string>(made);
  return ::grpc::Status::OK;
}

::grpc::Status RuntimeService::Exec(::grpc::ServerContext*, const v1::ExecRequest* request, v1::ExecResponse* response) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::ContainerRecord> c;
    if (auto status = find_container(request->container_id(), c); !status.ok()) return status;
    if (request->cmd().empty()) return invalid("Exec: cmd is empty");
    for (const auto& arg : request->cmd())
      if (auto problem = nul_problem(arg); !problem.empty()) return invalid("Exec: cmd: " + problem);
    if (auto problem = stream_choice_problem(request->tty(), request->stdin(), request->stdout(), request->stderr());
        !problem.empty())
      return invalid("Exec: " + problem);
    if (c->observed_state != store::ContainerObserved::Running)
      return failed_precondition("Exec: container " + c->id + " is not running");
    streaming::ExecRequest exec{c->id, {request->cmd().begin(), request->cmd().end()}, request->tty(),
                                request->stdin(), request->stdout(), request->stderr()};
    std::string url;
    if (auto status = streaming_url("Exec", std::move(exec), url); !status.ok()) return status;
    response->set_url(url);
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
