// Exec and port forwarding end to end: lxe's CRI Exec and PortForward calls, their URLs on lxe's
// streaming server, the tests' own SPDY client, a real container in the real LXD.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "support/cri_fixture.h"
#include "support/network_helpers.h"
#include "support/spdy_client.h"

using namespace std::chrono_literals;
using lxe::test::CriFixture;
using lxe::test::RemoteCommandRun;
namespace cri = ::runtime::v1;

namespace {

std::unique_ptr<grpc::ClientContext> with_deadline() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + 30s);
  return ctx;
}

struct UrlReply {
  grpc::Status status;
  std::string url;
};

UrlReply exec_url(CriFixture& fx, const std::string& id, std::vector<std::string> cmd, bool tty, bool in, bool out,
                  bool err) {
  cri::ExecRequest request;
  request.set_container_id(id);
  for (auto& c : cmd) request.add_cmd(std::move(c));
  request.set_tty(tty);
  request.set_stdin(in);
  request.set_stdout(out);
  request.set_stderr(err);
  cri::ExecResponse response;
  auto ctx = with_deadline();
  UrlReply reply;
  reply.status = fx.runtime().Exec(ctx.get(), request, &response);
  reply.url = response.url();
  return reply;
}

std::string must_exec_url(CriFixture& fx, const std::string& id, std::vector<std::string> cmd, bool tty = false,
                          bool in = false) {
  auto reply = exec_url(fx, id, std::move(cmd), tty, in, true, !tty);
  INFO(lxe::test::describe(reply.status));
  REQUIRE(reply.status.ok());
  return reply.url;
}

UrlReply port_forward_url(CriFixture& fx, const std::string& pod, std::vector<int32_t> ports = {}) {
  cri::PortForwardRequest request;
  request.set_pod_sandbox_id(pod);
  for (const int32_t p : ports) request.add_port(p);
  cri::PortForwardResponse response;
  auto ctx = with_deadline();
  UrlReply reply;
  reply.status = fx.runtime().PortForward(ctx.get(), request, &response);
  reply.url = response.url();
  return reply;
}

bool process_runs(CriFixture& fx, const std::string& id, const std::string& args) {
  const auto ps = fx.exec(id, {"ps", "-o", "args"});
  REQUIRE(ps.ok());
  return ps.value.stdout().find(args) != std::string::npos;
}

}  // namespace

TEST_CASE("streaming: exec through lxe's streaming server into a real container", "[streaming]") {
  CriFixture fx("stream");
  auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string id = fx.must_run_container(
      pod_id,
      CriFixture::container_config(
          "c", {"sh", "-c", "mkdir -p /w && echo pod-page > /w/index.html && httpd -p 127.0.0.1:8080 -h /w && exec sleep 100000"}),
      pod);

  // Output on both streams, and the exit code.
  auto three = lxe::test::run_remote_command(
      must_exec_url(fx, id, {"sh", "-c", "echo to-out; echo to-err >&2; exit 3"}), RemoteCommandRun{});
  CHECK(three.finished);
  CHECK(three.out == "to-out\n");
  CHECK(three.err == "to-err\n");
  CHECK(lxe::test::exit_code_of(three.status) == 3);

  // stdin, and its end as the command's EOF.
  RemoteCommandRun cat;
  cat.stdin_data = "first line\nsecond line\n";
  auto echoed = lxe::test::run_remote_command(must_exec_url(fx, id, {"cat"}, false, true), cat);
  CHECK(echoed.out == "first line\nsecond line\n");
  CHECK(lxe::test::exit_code_of(echoed.status) == 0);

  // Megabytes of output, whole.
  auto big = lxe::test::run_remote_command(
      must_exec_url(fx, id, {"sh", "-c", "head -c 4194304 /dev/zero | tr '\\0' x"}), RemoteCommandRun{});
  CHECK(big.out.size() == 4194304);
  CHECK(big.out.find_first_not_of('x') == std::string::npos);
  CHECK(lxe::test::exit_code_of(big.status) == 0);

  // A terminal: its size follows the client's resize events.
  {
    auto connected = lxe::test::SpdyClient::connect(
        must_exec_url(fx, id, {"sh", "-c", "read a; stty size; read b; stty size"}, true, true), {"v4.channel.k8s.io"});
    REQUIRE(std::holds_alternative<std::unique_ptr<lxe::test::SpdyClient>>(connected));
    auto& client = *std::get<std::unique_ptr<lxe::test::SpdyClient>>(connected);
    const uint32_t error = client.open({{"streamtype", "error"}}, true);
    const uint32_t in = client.open({{"streamtype", "stdin"}});
    const uint32_t out = client.open({{"streamtype", "stdout"}}, true);
    const uint32_t resize = client.open({{"streamtype", "resize"}});
    client.send(resize, R"({"Width":100,"Height":30})" "\n");
    std::this_thread::sleep_for(300ms);
    client.send(in, "go\n");
    CHECK(client.wait_received(out, "30 100", 20s));
    client.send(resize, R"({"Width":132,"Height":43})" "\n");
    std::this_thread::sleep_for(300ms);
    client.send(in, "again\n");
    CHECK(client.wait_received(out, "43 132", 20s));
    CHECK(client.wait_ended(error, 20s));
    CHECK(lxe::test::exit_code_of(client.received(error)) == 0);
    INFO(client.received(out));
    // The terminal echoes what was typed: one stream carries all of it.
    CHECK_THAT(client.received(out), Catch::Contains("go"));
  }

  // TERM: xterm with a terminal (as containerd), none without (the container sets none).
  {
    RemoteCommandRun tty;
    tty.tty = true;
    tty.stderr = false;
    tty.stdin_data = "";
    tty.keep_stdin_open = true;
    auto with_tty = lxe::test::run_remote_command(must_exec_url(fx, id, {"sh", "-c", "echo term=$TERM"}, true, true), tty);
    CHECK_THAT(with_tty.out, Catch::Contains("term=xterm"));
    auto without = lxe::test::run_remote_command(must_exec_url(fx, id, {"sh", "-c", "echo term=$TERM"}), RemoteCommandRun{});
    CHECK(without.out == "term=\n");
  }

  // A client that goes away: the command goes with it.
  {
    auto connected = lxe::test::SpdyClient::connect(must_exec_url(fx, id, {"sleep", "4242"}), {"v4.channel.k8s.io"});
    REQUIRE(std::holds_alternative<std::unique_ptr<lxe::test::SpdyClient>>(connected));
    auto& client = *std::get<std::unique_ptr<lxe::test::SpdyClient>>(connected);
    client.open({{"streamtype", "error"}}, true);
    client.open({{"streamtype", "stdout"}}, true);
    client.open({{"streamtype", "stderr"}}, true);
    bool started = false;
    for (int i = 0; i < 50 && !started; ++i) {
      started = process_runs(fx, id, "sleep 4242");
      if (!started) std::this_thread::sleep_for(100ms);
    }
    REQUIRE(started);
    client.drop();
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      gone = !process_runs(fx, id, "sleep 4242");
      if (!gone) std::this_thread::sleep_for(100ms);
    }
    CHECK(gone);
    // Nor does LXD keep the exec's operation.
    std::string instance;
    for (const auto& name : fx.lxd_instances())
      if (name.size() > 12 && name.compare(name.size() - 12, 12, id.substr(0, 12)) == 0) instance = name;
    REQUIRE_FALSE(instance.empty());
    bool operation_left = true;
    for (int i = 0; i < 50 && operation_left; ++i) {
      operation_left = false;
      const auto operations = fx.lxd().request("GET", "/1.0/operations?recursion=1").metadata;
      for (const auto& op : operations.value("running", nlohmann::json::array()))
        for (const auto& resource : op["resources"].value("instances", nlohmann::json::array()))
          if (resource.get<std::string>().find(instance) != std::string::npos) operation_left = true;
      if (operation_left) std::this_thread::sleep_for(100ms);
    }
    CHECK_FALSE(operation_left);
  }

  // Twenty at once.
  {
    std::vector<std::future<lxe::test::RemoteCommandResult>> runs;
    for (int i = 0; i < 20; ++i)
      runs.push_back(std::async(std::launch::async, [url = must_exec_url(fx, id, {"echo", "run-" + std::to_string(i)})] {
        return lxe::test::run_remote_command(url, RemoteCommandRun{});
      }));
    for (int i = 0; i < 20; ++i) {
      const auto result = runs[static_cast<size_t>(i)].get();
      CHECK(result.out == "run-" + std::to_string(i) + "\n");
      CHECK(lxe::test::exit_code_of(result.status) == 0);
    }
  }

  // Port forwarding into the pod's own loopback (this fixture's pods have no other network).
  {
    const auto forward = port_forward_url(fx, pod_id);
    REQUIRE(forward.status.ok());
    auto connected = lxe::test::SpdyClient::connect(forward.url, {"portforward.k8s.io"});
    REQUIRE(std::holds_alternative<std::unique_ptr<lxe::test::SpdyClient>>(connected));
    auto& client = *std::get<std::unique_ptr<lxe::test::SpdyClient>>(connected);
    const auto page = lxe::test::forward_once(client, 8080, "0", "GET / HTTP/1.0\r\n\r\n");
    CHECK(page.ended);
    CHECK(page.error.empty());
    CHECK_THAT(page.data, Catch::StartsWith("HTTP/1.") && Catch::Contains("pod-page"));
    const auto closed = lxe::test::forward_once(client, 8081, "1", "GET / HTTP/1.0\r\n\r\n");
    CHECK_THAT(closed.error, Catch::Contains("error forwarding port 8081") &&
                                 Catch::Contains("nothing accepts connections on localhost:8081"));
  }

  // Requests lxe refuses.
  CHECK(exec_url(fx, "no-such-container", {"true"}, false, false, true, false).status.error_code() ==
        grpc::StatusCode::NOT_FOUND);
  CHECK(exec_url(fx, id, {}, false, false, true, false).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  const auto tty_stderr = exec_url(fx, id, {"true"}, true, false, true, true);
  CHECK(tty_stderr.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(tty_stderr.status.error_message(), Catch::Contains("tty and stderr"));
  const auto no_streams = exec_url(fx, id, {"true"}, false, false, false, false);
  CHECK(no_streams.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(exec_url(fx, id, {std::string("a\0b", 3)}, false, false, true, false).status.error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(port_forward_url(fx, "no-such-pod").status.error_code() == grpc::StatusCode::NOT_FOUND);
  const auto port_zero = port_forward_url(fx, pod_id, {0});
  CHECK(port_zero.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(port_zero.status.error_message(), Catch::Contains("port 0"));
  REQUIRE(fx.stop(id).ok());
  const auto stopped = exec_url(fx, id, {"true"}, false, false, true, false);
  CHECK(stopped.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(stopped.status.error_message(), Catch::Contains("is not running"));
  REQUIRE(fx.stop_pod(pod_id).ok());
  CHECK(port_forward_url(fx, pod_id).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  fx.remove_all_pods_and_expect_clean();
}
