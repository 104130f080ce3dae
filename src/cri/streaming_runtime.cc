#include "cri/streaming_runtime.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "cri/attach_client.h"
#include "cri/exec_command.h"
#include "lxd/client.h"
#include "lxd/exec_session.h"
#include "model/stored_config.h"
#include "reconcile/host_files.h"
#include "reconcile/lxd_specs.h"
#include "reconcile/pod_network.h"
#include "store/registry.h"

namespace lxe::cri {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(200);
constexpr size_t kStdinQueued = 1 << 20;
// How long a command whose client went away has after SIGHUP before it is killed.
constexpr auto kHangupGrace = std::chrono::seconds(3);

std::string errno_text(int error) { return std::strerror(error); }

// Client to command: stdin bytes until the client ends the stream (EOF for the command too) or
// `stop` is set.
void pump_stdin(streaming::InboundPipe& from_client, lxd::ExecSession& session, const std::atomic<bool>& stop) {
  char buffer[32 * 1024];
  while (!stop) {
    const auto n = from_client.read_for(buffer, sizeof buffer, kPoll);
    if (!n) continue;
    if (*n == 0) break;
    session.write_stdin(std::string(buffer, *n));
    // The session queues without bound; a command that reads slowly holds the client back here.
    while (!stop && !session.wait_stdin_below(kStdinQueued, kPoll)) {
    }
  }
  if (!stop) session.close_stdin();
}

}  // namespace

streaming::SessionOutcome StreamingRuntime::exec(const streaming::ExecRequest& request, streaming::SessionIo& io) {
  const auto container = registry_.container(request.container_id);
  if (!container) return streaming::SessionOutcome::failed("container " + request.container_id + " no longer exists");
  const bool with_spec = !reconcile::runs_image_init(*container, model::parse_container_config(container->config_json));

  lxd::ExecSessionSpec spec;
  spec.command = lxe_init_exec_command(0, with_spec, request.cmd);
  spec.interactive = request.tty;
  lxd::ExecOutput output;
  // The client may not want a stream the command writes: its bytes are dropped.
  output.on_stdout = [&](std::string_view bytes) {
    if (io.stdout_sink) io.stdout_sink->write(bytes);
  };
  output.on_stderr = [&](std::string_view bytes) {
    if (io.stderr_sink) io.stderr_sink->write(bytes);
    else if (request.tty && io.stdout_sink) io.stdout_sink->write(bytes);
  };
  std::unique_ptr<lxd::ExecSession> session;
  try {
    session = std::make_unique<lxd::ExecSession>(lxd_, container->lxd_name, spec, std::move(output));
  } catch (const lxd::Error& e) {
    if (e.kind() == lxd::ErrorKind::BadRequest)
      return streaming::SessionOutcome::failed("container " + request.container_id + " is not running");
    return streaming::SessionOutcome::failed("cannot start the command: " + std::string(e.what()));
  }
  spdlog::info("streaming: exec in container {} ({}{})", container->id, request.tty ? "tty" : "no tty",
               io.stdin_pipe ? ", stdin" : "");

  std::atomic<bool> stop{false};
  std::thread stdin_pump;
  if (io.stdin_pipe)
    stdin_pump = std::thread([&] { pump_stdin(*io.stdin_pipe, *session, stop); });
  else
    session->close_stdin();
  std::thread resize_pump;
  if (io.resize)
    resize_pump = std::thread([&] {
      while (const auto size = io.resize->pop()) session->resize(size->width, size->height);
    });

  streaming::SessionOutcome outcome;
  try {
    while (true) {
      if (const auto code = session->wait(kPoll)) {
        outcome = streaming::SessionOutcome::exited(*code);
        break;
      }
      if (io.cancelled && io.cancelled->cancelled()) {
        // What a terminal's hangup would send; lxe-init passes it to the command's process group.
        // A command that ignores it is killed when the session goes (below).
        session->signal(SIGHUP);
        session->wait(kHangupGrace);
        outcome = streaming::SessionOutcome::failed("the client went away");
        break;
      }
    }
  } catch (const lxd::Error& e) {
    outcome = streaming::SessionOutcome::failed("the command failed to run: " + std::string(e.what()));
  }
  stop = true;
  if (io.resize) io.resize->close();
  if (stdin_pump.joinable()) stdin_pump.join();
  if (resize_pump.joinable()) resize_pump.join();
  // A command still running (the client went away) is killed here, and LXD's operation ends.
  session.reset();
  spdlog::info("streaming: exec in container {} ended: {}", container->id,
               outcome.exit_code ? "exit code " + std::to_string(*outcome.exit_code) : outcome.error);
  return outcome;
}

streaming::SessionOutcome StreamingRuntime::attach(const streaming::AttachRequest& request, streaming::SessionIo& io) {
  const auto container = registry_.container(request.container_id);
  if (!container) return streaming::SessionOutcome::failed("container " + request.container_id + " no longer exists");
  const std::string path = files_.attach_socket(container->id);
  // Checked by the Attach call already; the container may have stopped since.
  if (!attach::attach_socket_exists(path))
    return streaming::SessionOutcome::failed("container " + container->id +
                                             " is not running, or was started by an lxe without attach support");
  auto connected = attach::connect_attach_socket(path);
  if (auto* error = std::get_if<std::string>(&connected)) return streaming::SessionOutcome::failed(*error);
  spdlog::info("streaming: attach to container {} ({}{})", container->id, request.tty ? "tty" : "no tty",
               io.stdin_pipe ? ", stdin" : "");
  auto outcome = run_attach_session(std::move(std::get<UniqueFd>(connected)), io);
  spdlog::info("streaming: attach to container {} ended{}", container->id,
               outcome.exit_code ? "" : ": " + outcome.error);
  return outcome;
}

std::variant<UniqueFd, std::string> StreamingRuntime::connect(const std::string& pod_id, int32_t port) {
  const auto sandbox = registry_.sandbox(pod_id);
  if (!sandbox) return "pod sandbox " + pod_id + " no longer exists";
  if (sandbox->observed_state != store::SandboxObserved::Ready || !store::pod_namespaces_made(*sandbox))
    return std::string("the pod sandbox is not ready");
  const std::string netns = reconcile::pod_netns(*sandbox, files_.pod_namespaces_dir(sandbox->id));
  if (netns.empty())
    return std::string(sandbox->pod_namespaces == store::PodNamespaces::Pinned
                           ? "the pod's network namespace is gone (its pin under lxe's state folder is gone)"
                           : "the pod's network namespace is gone (its holder does not run)");
  return connect_in_netns(netns, port);
}

std::variant<UniqueFd, std::string> connect_in_netns(const std::string& netns_path, int32_t port) {
  std::variant<UniqueFd, std::string> result = std::string();
  // setns changes only the calling thread's namespace; this thread exists for that and ends with
  // it. The socket stays in the namespace it was made in.
  std::thread([&] {
    UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid() || ::setns(ns.get(), CLONE_NEWNET) != 0) {
      result = "cannot enter the pod's network namespace " + netns_path + ": " + errno_text(errno);
      return;
    }
    std::string refused;
    for (const int family : {AF_INET, AF_INET6}) {
      UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (!fd.valid()) continue;
      int rc;
      if (family == AF_INET) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
      } else {
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(static_cast<uint16_t>(port));
        a.sin6_addr = in6addr_loopback;
        rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
      }
      if (rc == 0) {
        result = std::move(fd);
        return;
      }
      if (refused.empty()) refused = errno_text(errno);
    }
    result = "nothing accepts connections on localhost:" + std::to_string(port) + " in the pod (" + refused + ")";
  }).join();
  return result;
}

}  // namespace lxe::cri
