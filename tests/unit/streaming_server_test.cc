// The streaming server against a runtime of the test's own (no LXD): URLs and tokens, the HTTP
// upgrade, the remotecommand protocols over SPDY (streams, exit codes, stdin EOF, resize, large
// output, a client that goes away, many sessions at once) and port forwarding.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "streaming/remote_command.h"
#include "streaming/server.h"
#include "support/spdy_client.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/websocket_client.h"

using namespace std::chrono_literals;
using lxe::streaming::ExecRequest;
using lxe::streaming::PortForwardRequest;
using lxe::streaming::Server;
using lxe::streaming::ServerOptions;
using lxe::streaming::SessionIo;
using lxe::streaming::SessionOutcome;
using lxe::test::HttpAnswer;
using lxe::test::RemoteCommandRun;
using lxe::test::SpdyClient;

namespace {

// Commands the fake runtime knows: "echo A B" (stdout "A", stderr "B"), "exit N", "cat" (stdin to
// stdout until EOF), "big N" (N bytes of a pattern), "sizes" (prints each terminal size until
// stdin ends), "hang" (until the client goes away).
class FakeRuntime final : public lxe::streaming::Runtime {
 public:
  std::atomic<int> cancelled_sessions{0};
  std::atomic<int> running{0};

  SessionOutcome exec(const ExecRequest& request, SessionIo& io) override {
    ++running;
    struct Done {
      std::atomic<int>& n;
      ~Done() { --n; }
    } done{running};
    const auto& cmd = request.cmd;
    if (cmd[0] == "echo") {
      if (io.stdout_sink) io.stdout_sink->write(cmd.at(1));
      if (io.stderr_sink) io.stderr_sink->write(cmd.at(2));
      return SessionOutcome::exited(0);
    }
    if (cmd[0] == "exit") return SessionOutcome::exited(std::stoi(cmd.at(1)));
    if (cmd[0] == "fail") return SessionOutcome::failed("cannot start: " + cmd.at(1));
    if (cmd[0] == "cat") {
      char buffer[8192];
      while (const size_t n = io.stdin_pipe->read(buffer, sizeof buffer)) io.stdout_sink->write({buffer, n});
      return SessionOutcome::exited(0);
    }
    if (cmd[0] == "big") {
      const size_t total = std::stoul(cmd.at(1));
      std::string chunk(65536, 0);
      for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>('a' + i % 26);
      for (size_t sent = 0; sent < total; sent += chunk.size())
        if (!io.stdout_sink->write(std::string_view(chunk).substr(0, std::min(chunk.size(), total - sent))))
          return SessionOutcome::failed("client gone");
      return SessionOutcome::exited(0);
    }
    if (cmd[0] == "sizes") {
      std::thread stdin_watch([&] {
        char c;
        while (io.stdin_pipe->read(&c, 1)) {
        }
        io.resize->close();
      });
      while (const auto size = io.resize->pop())
        io.stdout_sink->write(std::to_string(size->width) + "x" + std::to_string(size->height) + "\n");
      stdin_watch.join();
      return SessionOutcome::exited(0);
    }
    if (cmd[0] == "hang") {
      while (!io.cancelled->wait_for(50ms)) {
      }
      ++cancelled_sessions;
      return SessionOutcome::failed("cancelled");
    }
    return SessionOutcome::failed("unknown command");
  }
  SessionOutcome attach(const lxe::streaming::AttachRequest&, SessionIo& io) override {
    io.stdout_sink->write("attached\n");
    return SessionOutcome::exited(0);
  }
  std::variant<lxe::UniqueFd, std::string> connect(const std::string& pod_id, int32_t port) override {
    if (port != echo_port) return "connection refused (port " + std::to_string(port) + ")";
    lxe::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return std::string("refused");
    return fd;
  }
  int echo_port = 0;
};

// A TCP server on loopback answering each connection with "echo:" and what it read until EOF.
class EchoServer {
 public:
  EchoServer() {
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_.get(), 16) == 0);
    socklen_t length = sizeof a;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &length);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        const int c = ::accept(fd_.get(), nullptr, nullptr);
        if (c < 0) return;
        std::thread([c] {
          std::string got;
          char buffer[4096];
          ssize_t n;
          while ((n = ::recv(c, buffer, sizeof buffer, 0)) > 0) got.append(buffer, static_cast<size_t>(n));
          const std::string answer = "echo:" + got;
          ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
          ::close(c);
        }).detach();
      }
    });
  }
  ~EchoServer() {
    ::shutdown(fd_.get(), SHUT_RDWR);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  lxe::UniqueFd fd_;
  int port_ = 0;
  std::thread thread_;
};

struct Fixture {
  explicit Fixture(ServerOptions options = {}) : server(std::move(options), runtime) { server.start(); }
  std::string exec_url(std::vector<std::string> cmd, bool tty = false, bool in = false, bool err = true) {
    return std::get<std::string>(server.url_for(ExecRequest{"c1", std::move(cmd), tty, in, true, err && !tty}));
  }
  bool wait_idle() {
    for (int i = 0; i < 200; ++i) {
      if (server.active_connections() == 0 && runtime.running == 0) return true;
      std::this_thread::sleep_for(25ms);
    }
    return false;
  }
  FakeRuntime runtime;
  Server server;
};

HttpAnswer refused(const std::string& url, const std::vector<std::string>& protocols = {"v4.channel.k8s.io"},
                   const std::string& upgrade = "SPDY/3.1") {
  auto connected = SpdyClient::connect(url, protocols, upgrade);
  REQUIRE(std::holds_alternative<HttpAnswer>(connected));
  return std::get<HttpAnswer>(connected);
}

}  // namespace

TEST_CASE("streaming: exec over SPDY v4 carries stdout, stderr and the exit code", "[streaming]") {
  Fixture fx;
  CHECK_THAT(fx.server.base_url(), Catch::StartsWith("http://127.0.0.1:"));
  const std::string url = fx.exec_url({"echo", "out-text", "err-text"});
  CHECK_THAT(url, Catch::StartsWith(fx.server.base_url() + "/exec/"));
  auto ok = lxe::test::run_remote_command(url, {});
  REQUIRE_FALSE(ok.refused);
  CHECK(ok.finished);
  CHECK(ok.out == "out-text");
  CHECK(ok.err == "err-text");
  CHECK(nlohmann::json::parse(ok.status) == nlohmann::json{{"metadata", nlohmann::json::object()}, {"status", "Success"}});

  auto three = lxe::test::run_remote_command(fx.exec_url({"exit", "3"}), {});
  CHECK(lxe::test::exit_code_of(three.status) == 3);
  const auto status = nlohmann::json::parse(three.status);
  CHECK(status["status"] == "Failure");
  CHECK(status["reason"] == "NonZeroExitCode");
  CHECK_THAT(status["message"].get<std::string>(), Catch::Contains("exit code"));

  auto failed = lxe::test::run_remote_command(fx.exec_url({"fail", "no such file"}), {});
  const auto failure = nlohmann::json::parse(failed.status);
  CHECK(failure["status"] == "Failure");
  CHECK(failure["message"] == "cannot start: no such file");
  CHECK_FALSE(lxe::test::exit_code_of(failed.status));
  CHECK(fx.wait_idle());
}

TEST_CASE("streaming: older remotecommand protocols get the error as text, and no text for success", "[streaming]") {
  using lxe::streaming::status_message;
  CHECK(status_message("v3.channel.k8s.io", SessionOutcome::exited(0)).empty());
  CHECK_THAT(status_message("v2.channel.k8s.io", SessionOutcome::exited(2)), Catch::Contains("exit code"));
  CHECK(status_message("channel.k8s.io", SessionOutcome::failed("boom")) == "boom");
  Fixture fx;
  RemoteCommandRun v2;
  v2.protocol = "v2.channel.k8s.io";
  auto run = lxe::test::run_remote_command(fx.exec_url({"exit", "4"}), v2);
  CHECK(run.finished);
  CHECK_THAT(run.status, Catch::Contains("exit code") && Catch::Contains("4"));
  CHECK(fx.wait_idle());
}

TEST_CASE("streaming: stdin reaches the command and its end is the command's EOF", "[streaming]") {
  Fixture fx;
  RemoteCommandRun run;
  run.stdin_data = "line one\nline two\n";
  auto result = lxe::test::run_remote_command(fx.exec_url({"cat"}, false, true), run);
  CHECK(result.finished);
  CHECK(result.out == "line one\nline two\n");
  CHECK(lxe::test::exit_code_of(result.status) == 0);
}

TEST_CASE("streaming: megabytes of output arrive whole", "[streaming]") {
  Fixture fx;
  constexpr size_t kSize = 8 * 1024 * 1024 + 123;
  auto result = lxe::test::run_remote_command(fx.exec_url({"big", std::to_string(kSize)}), {});
  CHECK(result.finished);
  REQUIRE(result.out.size() == kSize);
  bool pattern = true;
  for (size_t i = 0; i < result.out.size() && pattern; i += 4099) pattern = result.out[i] == 'a' + (i % 65536) % 26;
  CHECK(pattern);
  CHECK(lxe::test::exit_code_of(result.status) == 0);
}

TEST_CASE("streaming: a tty session takes terminal sizes from the resize stream", "[streaming]") {
  Fixture fx;
  auto connected = SpdyClient::connect(fx.exec_url({"sizes"}, true, true), {"v4.channel.k8s.io"});
  REQUIRE(std::holds_alternative<std::unique_ptr<SpdyClient>>(connected));
  auto& client = *std::get<std::unique_ptr<SpdyClient>>(connected);
  const uint32_t error = client.open({{"streamtype", "error"}}, true);
  const uint32_t in = client.open({{"streamtype", "stdin"}});
  const uint32_t out = client.open({{"streamtype", "stdout"}}, true);
  const uint32_t resize = client.open({{"streamtype", "resize"}});
  client.send(resize, R"({"Width":80,"Height":24})" "\n");
  CHECK(client.wait_received(out, "80x24\n", 10s));
  // A size split across two frames is one event.
  client.send(resize, R"({"Width":132,)");
  client.send(resize, R"("Height":43})" "\n");
  CHECK(client.wait_received(out, "132x43\n", 10s));
  client.send(in, "", true);
  CHECK(client.wait_ended(error, 10s));
  CHECK(lxe::test::exit_code_of(client.received(error)) == 0);
  CHECK(client.replied(error));
  CHECK(client.replied(resize));
}

TEST_CASE("streaming: a URL is good once, for its own kind, until it expires", "[streaming]") {
  ServerOptions options;
  options.token_ttl = 300ms;
  Fixture fx(options);
  const std::string url = fx.exec_url({"echo", "a", "b"});
  CHECK(lxe::test::run_remote_command(url, {}).out == "a");
  // Used: gone.
  auto reused = refused(url);
  CHECK(reused.status == 404);
  CHECK_THAT(reused.body, Catch::Contains("no such streaming session"));
  // Made up.
  CHECK(refused(fx.server.base_url() + "/exec/00112233445566778899aabbccddeeff").status == 404);
  CHECK(refused(fx.server.base_url() + "/exec/").status == 404);
  CHECK(refused(fx.server.base_url() + "/").status == 404);
  // An exec token on the attach path: refused, and spent.
  const std::string exec_url = fx.exec_url({"echo", "a", "b"});
  std::string attach_url = exec_url;
  attach_url.replace(attach_url.find("/exec/"), 6, "/attach/");
  CHECK(refused(attach_url).status == 404);
  CHECK(refused(exec_url).status == 404);
  // Expired.
  const std::string late = fx.exec_url({"echo", "a", "b"});
  std::this_thread::sleep_for(400ms);
  CHECK(refused(late).status == 404);
  CHECK(fx.wait_idle());
}

TEST_CASE("streaming: requests that are no SPDY upgrade, or offer no known protocol, are refused", "[streaming]") {
  Fixture fx;
  auto plain = refused(fx.exec_url({"echo", "a", "b"}), {"v4.channel.k8s.io"}, "");
  CHECK(plain.status == 400);
  CHECK_THAT(plain.body, Catch::Contains("SPDY/3.1"));
  auto none = refused(fx.exec_url({"echo", "a", "b"}), {});
  CHECK(none.status == 400);
  CHECK_THAT(none.body, Catch::Contains("X-Stream-Protocol-Version"));
  auto unknown = refused(fx.exec_url({"echo", "a", "b"}), {"v9.channel.k8s.io"});
  CHECK(unknown.status == 403);
  CHECK_THAT(unknown.head, Catch::Contains("X-Accepted-Stream-Protocol-Versions: v4.channel.k8s.io"));
  // The newest the client offers that the server knows wins.
  auto connected = SpdyClient::connect(fx.exec_url({"echo", "a", "b"}), {"v5.channel.k8s.io", "v3.channel.k8s.io", "v4.channel.k8s.io"});
  REQUIRE(std::holds_alternative<std::unique_ptr<SpdyClient>>(connected));
  CHECK(std::get<std::unique_ptr<SpdyClient>>(connected)->protocol() == "v3.channel.k8s.io");
}

TEST_CASE("streaming: a client that goes away cancels its command and leaves no session behind", "[streaming]") {
  Fixture fx;
  auto connected = SpdyClient::connect(fx.exec_url({"hang"}), {"v4.channel.k8s.io"});
  REQUIRE(std::holds_alternative<std::unique_ptr<SpdyClient>>(connected));
  auto& client = *std::get<std::unique_ptr<SpdyClient>>(connected);
  client.open({{"streamtype", "error"}}, true);
  client.open({{"streamtype", "stdout"}}, true);
  client.open({{"streamtype", "stderr"}}, true);
  for (int i = 0; i < 100 && fx.runtime.running == 0; ++i) std::this_thread::sleep_for(20ms);
  REQUIRE(fx.runtime.running == 1);
  client.ping(1);
  for (int i = 0; i < 100 && client.pongs().empty(); ++i) std::this_thread::sleep_for(20ms);
  CHECK(client.pongs() == std::vector<uint32_t>{1});
  client.drop();
  CHECK(fx.wait_idle());
  CHECK(fx.runtime.cancelled_sessions == 1);
}

TEST_CASE("streaming: a client that opens too few streams is told so in time", "[streaming]") {
  ServerOptions options;
  options.stream_creation_timeout = 300ms;
  Fixture fx(options);
  auto connected = SpdyClient::connect(fx.exec_url({"echo", "a", "b"}), {"v4.channel.k8s.io"});
  auto& client = *std::get<std::unique_ptr<SpdyClient>>(connected);
  const uint32_t error = client.open({{"streamtype", "error"}}, true);
  CHECK(client.wait_ended(error, 5s));
  CHECK_THAT(client.received(error), Catch::Contains("timed out waiting for the client to open its streams"));
  CHECK(client.wait_closed(10s));
  CHECK(fx.wait_idle());
}

TEST_CASE("streaming: 20 execs at once", "[streaming]") {
  Fixture fx;
  std::vector<std::future<lxe::test::RemoteCommandResult>> runs;
  for (int i = 0; i < 20; ++i) {
    RemoteCommandRun run;
    run.stdin_data = "session " + std::to_string(i) + "\n";
    runs.push_back(std::async(std::launch::async, [url = fx.exec_url({"cat"}, false, true), run] {
      return lxe::test::run_remote_command(url, run);
    }));
  }
  for (int i = 0; i < 20; ++i) {
    const auto result = runs[static_cast<size_t>(i)].get();
    CHECK(result.out == "session " + std::to_string(i) + "\n");
    CHECK(lxe::test::exit_code_of(result.status) == 0);
  }
  CHECK(fx.wait_idle());
}

TEST_CASE("streaming: sessions beyond the limit are refused with 503", "[streaming]") {
  ServerOptions options;
  options.max_sessions = 1;
  Fixture fx(options);
  auto first = SpdyClient::connect(fx.exec_url({"hang"}), {"v4.channel.k8s.io"});
  REQUIRE(std::holds_alternative<std::unique_ptr<SpdyClient>>(first));
  auto second = refused(fx.exec_url({"echo", "a", "b"}));
  CHECK(second.status == 503);
  CHECK_THAT(second.body, Catch::Contains("streaming sessions are open already"));
}

TEST_CASE("streaming: port forwarding, several connections in one session, and a refused port", "[streaming]") {
  EchoServer echo;
  Fixture fx;
  fx.runtime.echo_port = echo.port();
  const std::string url = std::get<std::string>(fx.server.url_for(PortForwardRequest{"p1", {}}));
  CHECK_THAT(url, Catch::Contains("/portforward/"));
  auto connected = SpdyClient::connect(url, {"portforward.k8s.io"});
  REQUIRE(std::holds_alternative<std::unique_ptr<SpdyClient>>(connected));
  auto& client = *std::get<std::unique_ptr<SpdyClient>>(connected);
  CHECK(client.protocol() == "portforward.k8s.io");
  // Data streams half-close (FIN) after the request: the echo server answers at EOF.
  auto exchange = [&](const std::string& id, const std::string& text) {
    const std::string port = std::to_string(echo.port());
    const uint32_t error = client.open({{"streamtype", "error"}, {"port", port}, {"requestid", id}}, true);
    const uint32_t data = client.open({{"streamtype", "data"}, {"port", port}, {"requestid", id}});
    client.send(data, text, true);
    REQUIRE(client.wait_ended(data, 10s));
    client.wait_ended(error, 5s);
    CHECK(client.received(error).empty());
    return client.received(data);
  };
  CHECK(exchange("0", "first") == "echo:first");
  CHECK(exchange("1", "second") == "echo:second");
  std::vector<std::future<std::string>> parallel;
  for (int i = 0; i < 5; ++i)
    parallel.push_back(std::async(std::launch::async, [&, i] { return exchange("p" + std::to_string(i), std::string(100000, 'x')); }));
  for (auto& one : parallel) CHECK(one.get() == "echo:" + std::string(100000, 'x'));

  const auto refused_port = lxe::test::forward_once(client, 1, "9", "GET /");
  CHECK(refused_port.ended);
  CHECK_THAT(refused_port.error, Catch::Contains("error forwarding port 1 to pod p1") && Catch::Contains("refused"));
  const auto bad_port = lxe::test::forward_once(client, 70000, "10", "");
  CHECK_THAT(bad_port.error, Catch::Contains("'70000' is not a port number"));
  client.drop();
  CHECK(fx.wait_idle());
}

TEST_CASE("streaming: a port-forward session limited to its ports refuses others", "[streaming]") {
  EchoServer echo;
  Fixture fx;
  fx.runtime.echo_port = echo.port();
  const std::string url = std::get<std::string>(fx.server.url_for(PortForwardRequest{"p1", {80}}));
  auto connected = SpdyClient::connect(url, {"portforward.k8s.io"});
  auto& client = *std::get<std::unique_ptr<SpdyClient>>(connected);
  const auto other = lxe::test::forward_once(client, echo.port(), "1", "x");
  CHECK_THAT(other.error, Catch::Contains("not one of the ports this session was granted"));
}

TEST_CASE("streaming: too many waiting URLs are refused, and stop() ends open sessions", "[streaming]") {
  ServerOptions options;
  options.max_waiting_tokens = 2;
  Fixture fx(options);
  fx.exec_url({"hang"});
  const std::string hang = fx.exec_url({"hang"});
  auto third = fx.server.url_for(ExecRequest{"c1", {"x"}, false, false, true, false});
  REQUIRE(std::holds_alternative<lxe::streaming::UrlError>(third));
  CHECK_THAT(std::get<lxe::streaming::UrlError>(third).message, Catch::Contains("waiting to be used"));
  auto connected = SpdyClient::connect(hang, {"v4.channel.k8s.io"});
  auto& client = *std::get<std::unique_ptr<SpdyClient>>(connected);
  client.open({{"streamtype", "error"}}, true);
  client.open({{"streamtype", "stdout"}}, true);
  client.open({{"streamtype", "stderr"}}, true);
  for (int i = 0; i < 100 && fx.runtime.running == 0; ++i) std::this_thread::sleep_for(20ms);
  REQUIRE(fx.runtime.running == 1);
  fx.server.stop();
  CHECK(fx.runtime.running == 0);
  CHECK(fx.runtime.cancelled_sessions == 1);
  CHECK(client.wait_closed(5s));
}

TEST_CASE("streaming: exec over WebSocket v5 and v4 channels", "[streaming]") {
  using lxe::test::WebSocketRun;
  Fixture fx;
  auto three = lxe::test::run_websocket_command(fx.exec_url({"echo", "ws-out", "ws-err"}), {});
  CHECK(three.http_status == 101);
  CHECK(three.protocol == "v5.channel.k8s.io");
  CHECK(three.out == "ws-out");
  CHECK(three.err == "ws-err");
  CHECK(lxe::test::exit_code_of(three.status) == 0);
  CHECK(three.closed_normally);

  auto code = lxe::test::run_websocket_command(fx.exec_url({"exit", "7"}), {});
  CHECK(lxe::test::exit_code_of(code.status) == 7);

  // v5's close signal is stdin's end.
  WebSocketRun cat;
  cat.stdin_data = "through the socket\n";
  auto echoed = lxe::test::run_websocket_command(fx.exec_url({"cat"}, false, true), cat);
  CHECK(echoed.out == "through the socket\n");
  CHECK(lxe::test::exit_code_of(echoed.status) == 0);

  // The client's order of preference; v4 has the same status JSON.
  WebSocketRun v4;
  v4.protocols = {"v4.channel.k8s.io", "v5.channel.k8s.io"};
  auto older = lxe::test::run_websocket_command(fx.exec_url({"exit", "2"}), v4);
  CHECK(older.protocol == "v4.channel.k8s.io");
  CHECK(lxe::test::exit_code_of(older.status) == 2);

  auto big = lxe::test::run_websocket_command(fx.exec_url({"big", std::to_string(5 << 20)}), {});
  CHECK(big.out.size() == size_t{5} << 20);

  WebSocketRun sizes;
  sizes.resizes = {R"({"Width":81,"Height":25})"};
  sizes.stdin_data = "";
  auto resized = lxe::test::run_websocket_command(fx.exec_url({"sizes"}, true, true), sizes);
  CHECK(resized.out == "81x25\n");
  CHECK(resized.err.empty());
  CHECK(fx.wait_idle());
}

TEST_CASE("streaming: WebSocket requests without a known subprotocol or a valid URL are refused", "[streaming]") {
  Fixture fx;
  const auto unknown = lxe::test::websocket_refusal(fx.exec_url({"echo", "a", "b"}), {"base64.channel.k8s.io"});
  CHECK(unknown.status == 400);
  CHECK_THAT(unknown.body, Catch::Contains("v5.channel.k8s.io"));
  CHECK(lxe::test::websocket_refusal(fx.exec_url({"echo", "a", "b"}), {}).status == 400);
  const std::string url = fx.exec_url({"echo", "a", "b"});
  CHECK(lxe::test::run_websocket_command(url, {}).out == "a");
  CHECK(lxe::test::websocket_refusal(url, {"v5.channel.k8s.io"}).status == 404);
  CHECK(lxe::test::run_websocket_command(url, {}).http_status == 0);
  // A port-forward URL speaks only SPDY tunnelled through the WebSocket.
  const std::string forward = std::get<std::string>(fx.server.url_for(PortForwardRequest{"p1", {}}));
  const auto channels = lxe::test::websocket_refusal(forward, {"v5.channel.k8s.io"});
  CHECK(channels.status == 400);
  CHECK_THAT(channels.body, Catch::Contains("SPDY/3.1+portforward.k8s.io"));
  CHECK(fx.wait_idle());
}

TEST_CASE("streaming: with a certificate the server speaks TLS only, with https URLs", "[streaming]") {
  lxe::test::TempDir dir;
  const std::string cert = dir.file("cert.pem"), key = dir.file("key.pem");
  const auto made = lxe::test::run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                            "-subj", "/CN=localhost", "-keyout", key, "-out", cert});
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  ServerOptions options;
  options.tls_cert = cert;
  options.tls_key = key;
  Fixture fx(options);
  CHECK_THAT(fx.server.base_url(), Catch::StartsWith("https://127.0.0.1:"));
  const std::string url = fx.exec_url({"echo", "over-tls", "err"});
  CHECK_THAT(url, Catch::StartsWith("https://"));
  auto result = lxe::test::run_websocket_command(url, {});
  CHECK(result.http_status == 101);
  CHECK(result.out == "over-tls");
  CHECK(lxe::test::exit_code_of(result.status) == 0);
  auto big = lxe::test::run_websocket_command(fx.exec_url({"big", std::to_string(3 << 20)}), {});
  CHECK(big.out.size() == size_t{3} << 20);
  // Plain HTTP on the TLS port gets nothing.
  std::string plain_url = fx.exec_url({"echo", "a", "b"});
  plain_url.replace(0, 5, "http");
  CHECK(lxe::test::http_exchange(plain_url, "POST", {"Upgrade: SPDY/3.1"}).status == 0);
  CHECK(fx.wait_idle());

  ServerOptions missing;
  missing.tls_cert = dir.file("absent.pem");
  missing.tls_key = key;
  FakeRuntime runtime;
  CHECK_THROWS_WITH(Server(missing, runtime), Catch::Contains("cannot use the TLS certificate") && Catch::Contains("absent.pem"));
}
