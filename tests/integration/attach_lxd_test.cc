// Attach end to end: lxe's CRI Attach call, its URL on lxe's streaming server, the tests' own SPDY
// client, and lxe-init in a real container of the real LXD holding the workload's stdin and
// terminal (also across an lxe restart).
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "support/cri_fixture.h"
#include "support/spdy_client.h"

using namespace std::chrono_literals;
using lxe::test::CriFixture;
using lxe::test::SpdyClient;
namespace cri = ::runtime::v1;

namespace {

struct UrlReply {
  grpc::Status status;
  std::string url;
};

UrlReply attach_url(CriFixture& fx, const std::string& id, bool tty, bool in, bool out, bool err) {
  cri::AttachRequest request;
  request.set_container_id(id);
  request.set_tty(tty);
  request.set_stdin(in);
  request.set_stdout(out);
  request.set_stderr(err);
  cri::AttachResponse response;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  UrlReply reply;
  reply.status = fx.runtime().Attach(&ctx, request, &response);
  reply.url = response.url();
  return reply;
}

// An attached client, as kubectl attach opens its streams (v4: error, stdin, stdout, stderr,
// resize with a tty).
struct Attached {
  std::unique_ptr<SpdyClient> client;
  uint32_t error = 0, in = 0, out = 0, err = 0, resize = 0;
};

Attached attach(CriFixture& fx, const std::string& id, bool tty, bool in, bool err) {
  const auto reply = attach_url(fx, id, tty, in, true, err);
  INFO(lxe::test::describe(reply.status));
  REQUIRE(reply.status.ok());
  auto connected = SpdyClient::connect(reply.url, {"v4.channel.k8s.io"});
  REQUIRE(std::holds_alternative<std::unique_ptr<SpdyClient>>(connected));
  Attached a;
  a.client = std::move(std::get<std::unique_ptr<SpdyClient>>(connected));
  a.error = a.client->open({{"streamtype", "error"}}, true);
  if (in) a.in = a.client->open({{"streamtype", "stdin"}});
  a.out = a.client->open({{"streamtype", "stdout"}}, true);
  if (err) a.err = a.client->open({{"streamtype", "stderr"}}, true);
  if (tty) a.resize = a.client->open({{"streamtype", "resize"}});
  return a;
}

std::string read_log(const cri::PodSandboxConfig& pod, const std::string& name) {
  std::ifstream in(CriFixture::log_file(pod, name));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

cri::ContainerConfig with_streams(cri::ContainerConfig config, bool in, bool once, bool tty) {
  config.set_stdin(in);
  config.set_stdin_once(once);
  config.set_tty(tty);
  return config;
}

}  // namespace

TEST_CASE("attach: stdin_once, tty and output-only sessions in a real container; after an lxe restart; refusals", "[attach][streaming]") {
  CriFixture fx("attach");
  auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  // critest's container: a shell reading its stdin, which the first attach closes when it ends.
  const std::string shell = fx.must_run_container(
      pod_id, with_streams(CriFixture::container_config("sh", {"/bin/sh"}, "sh.log"), true, true, false), pod);
  // kubectl run -it's: a shell on a terminal.
  const std::string term = fx.must_run_container(
      pod_id, with_streams(CriFixture::container_config("term", {"/bin/sh"}, "term.log"), true, true, true), pod);
  // No stdin, no tty: it prints.
  const std::string ticker = fx.must_run_container(
      pod_id,
      CriFixture::container_config("tick", {"sh", "-c", "i=0; while :; do echo tick $i; echo tock $i >&2; i=$((i+1)); sleep 0.1; done"},
                                   "tick.log"),
      pod);

  // (1) As critest does: attach, wait until output is quiet, type, read, close stdin: the shell
  // exits, so the container does, and the attach ends with success.
  {
    auto a = attach(fx, shell, false, true, true);
    std::this_thread::sleep_for(500ms);
    a.client->send(a.in, "echo hello\n");
    CHECK(a.client->wait_received(a.out, "hello\n", 20s));
    a.client->send(a.in, "", true);  // FIN: the client's stdin ends
    CHECK(a.client->wait_ended(a.error, 20s));
    CHECK(lxe::test::exit_code_of(a.client->received(a.error)) == 0);
    CHECK(a.client->received(a.out) == "hello\n");
    CHECK(a.client->received(a.err).empty());
    const auto status = fx.wait_for_state(shell, cri::CONTAINER_EXITED, 20s);
    CHECK(status.state() == cri::CONTAINER_EXITED);
    CHECK(status.exit_code() == 0);
    CHECK_THAT(read_log(pod, "sh.log"), Catch::Contains(" stdout F hello\n"));
  }

  // (2) A terminal: resizes, and one stream carrying the echo, the output and stderr.
  {
    auto a = attach(fx, term, true, true, false);
    a.client->send(a.resize, R"({"Width":100,"Height":30})" "\n");
    std::this_thread::sleep_for(300ms);
    a.client->send(a.in, "stty size; echo to-err >&2\n");
    CHECK(a.client->wait_received(a.out, "30 100\r\n", 20s));
    CHECK(a.client->wait_received(a.out, "to-err\r\n", 20s));
    CHECK_THAT(a.client->received(a.out), Catch::Contains("stty size"));  // echoed by the terminal
    // Detaching (the client goes away) leaves the shell running, with its terminal.
    a.client->drop();
  }
  CHECK_THAT(read_log(pod, "term.log"), Catch::Contains(" stdout F 30 100\n"));

  // (3) Output only: what the container prints from now on, stdout and stderr apart.
  {
    auto a = attach(fx, ticker, false, false, true);
    CHECK(a.client->wait_received(a.out, "tick", 20s));
    CHECK(a.client->wait_received(a.err, "tock", 20s));
    CHECK(a.client->received(a.out).find("tock") == std::string::npos);
    CHECK(a.client->received(a.out).rfind("tick 0\n", 0) != 0);  // attached after the start
    a.client->drop();
  }

  // (4) lxe keeps no attach state: after a restart the terminal is still there, same size.
  REQUIRE(fx.restart_daemon() == 0);
  {
    auto a = attach(fx, term, true, true, false);
    a.client->send(a.in, "stty size\n");
    CHECK(a.client->wait_received(a.out, "30 100\r\n", 20s));
    a.client->send(a.in, "exit 3\n");
    CHECK(a.client->wait_ended(a.error, 20s));
    // As containerd's: the attach succeeded; the exit code is the container's status.
    CHECK(lxe::test::exit_code_of(a.client->received(a.error)) == 0);
    const auto status = fx.wait_for_state(term, cri::CONTAINER_EXITED, 20s);
    CHECK(status.state() == cri::CONTAINER_EXITED);
    CHECK(status.exit_code() == 3);
  }

  // (5) What the Attach call refuses.
  CHECK(attach_url(fx, "no-such-container", false, false, true, false).status.error_code() == grpc::StatusCode::NOT_FOUND);
  const auto tty_stderr = attach_url(fx, ticker, true, false, true, true);
  CHECK(tty_stderr.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(tty_stderr.status.error_message(), Catch::Contains("tty and stderr"));
  CHECK(attach_url(fx, ticker, false, false, false, false).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  const auto exited = attach_url(fx, shell, false, true, true, true);
  CHECK(exited.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(exited.status.error_message(), Catch::Contains("is not running"));
  // A container whose lxe-init has no socket (started by an lxe before attach): told so.
  const std::string socket = fx.dir().path() + "/containers/" + ticker + "/attach.sock";
  REQUIRE(std::filesystem::exists(std::filesystem::symlink_status(socket)));
  std::filesystem::rename(socket, socket + ".away");
  const auto old_init = attach_url(fx, ticker, false, false, true, true);
  CHECK(old_init.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(old_init.status.error_message(), Catch::Contains("without attach support"));
  std::filesystem::rename(socket + ".away", socket);
  CHECK(attach_url(fx, ticker, false, false, true, true).status.ok());
  REQUIRE(fx.stop(ticker).ok());
  CHECK(attach_url(fx, ticker, false, false, true, true).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  fx.remove_all_pods_and_expect_clean();
}
