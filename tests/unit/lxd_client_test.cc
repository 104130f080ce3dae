// The LXD client against a fake LXD, for what real LXD cannot be made to do on demand: error
// answers, hangs, malformed JSON, failing or endless operations, and its socket going away.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "lxd/client.h"
#include "support/fake_lxd.h"

using lxe::lxd::Client;
using lxe::lxd::ClientOptions;
using lxe::lxd::Error;
using lxe::lxd::ErrorKind;
using lxe::test::FakeLxd;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

ClientOptions options_for(const FakeLxd& fake) {
  ClientOptions o;
  o.socket_path = fake.socket_path();
  o.connect_timeout = 1000ms;
  o.request_timeout = 2000ms;
  o.operation_timeout = 5000ms;
  return o;
}

// Runs `f`, which must throw lxd::Error; returns it.
template <typename F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  } catch (const std::exception& e) {
    FAIL("threw something other than lxd::Error: " << e.what());
  }
  FAIL("did not throw");
  return Error(ErrorKind::Protocol, "unreachable");
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

json instance_json(const std::string& name, int status_code = 102) {
  return json{{"name", name},
              {"status", status_code == 103 ? "Running" : "Stopped"},
              {"status_code", status_code},
              {"type", "container"},
              {"profiles", {"default"}},
              {"config", {{"user.lxe.managed", "true"}}},
              {"expanded_config", {{"user.lxe.managed", "true"}, {"limits.memory", "1GiB"}}},
              {"devices", json::object()},
              {"expanded_devices", {{"root", {{"type", "disk"}, {"path", "/"}, {"pool", "default"}}}}},
              {"ephemeral", false},
              {"created_at", "2024-01-01T00:00:00Z"},
              {"last_used_at", "1970-01-01T00:00:00Z"}};
}

}  // namespace

TEST_CASE("lxd client: server info is parsed and requests carry Host: lxd", "[lxd]") {
  FakeLxd fake;
  fake.on("GET", "/1.0", [](const auto&, auto& res) {
    FakeLxd::reply_sync(res, {{"api_version", "1.0"},
                              {"api_extensions", {"etag", "api_filtering"}},
                              {"environment", {{"server_version", "5.0.2"}, {"server_name", "h1"}, {"server_pid", 25624}}}});
  });
  Client client(options_for(fake));
  const auto info = client.server_info();
  CHECK(info.api_version == "1.0");
  CHECK(info.server_version == "5.0.2");
  CHECK(info.server_name == "h1");
  CHECK(info.server_pid == 25624);
  CHECK(info.api_extensions.size() == 2);
  REQUIRE(fake.requests().size() == 1);
  CHECK(fake.requests()[0].header("Host") == "lxd");
}

TEST_CASE("lxd client: a storage pool's driver and source; a server without a PID", "[lxd]") {
  FakeLxd fake;
  fake.on("GET", "/1.0/storage-pools/fast pool", [](const auto&, auto& res) {
    FakeLxd::reply_sync(res, {{"name", "fast pool"},
                              {"driver", "dir"},
                              {"config", {{"source", "/var/lib/lxd/storage-pools/fast"}}},
                              {"used_by", json::array()}});
  });
  fake.on("GET", "/1.0", [](const auto&, auto& res) { FakeLxd::reply_sync(res, {{"api_version", "1.0"}}); });
  Client client(options_for(fake));
  const auto pool = client.get_storage_pool("fast pool");
  CHECK(pool.name == "fast pool");
  CHECK(pool.driver == "dir");
  CHECK(pool.config.at("source") == "/var/lib/lxd/storage-pools/fast");
  CHECK(client.server_info().server_pid == 0);
  CHECK(error_of([&] { client.get_storage_pool("missing"); }).kind() == ErrorKind::NotFound);
}

TEST_CASE("lxd client: LXD error answers map to error kinds and keep LXD's text", "[lxd]") {
  FakeLxd fake;
  Client client(options_for(fake));
  const struct {
    int status;
    ErrorKind kind;
  } cases[] = {
      {400, ErrorKind::BadRequest}, {403, ErrorKind::Forbidden},
      {404, ErrorKind::NotFound},   {409, ErrorKind::Conflict},
      {412, ErrorKind::PreconditionFailed}, {500, ErrorKind::Server},
      {503, ErrorKind::Server},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION("HTTP " << c.status) {
      const std::string text = "LXD says no (" + std::to_string(c.status) + ")";
      fake.on("GET", "/1.0/instances/x", [&](const auto&, auto& res) {
        FakeLxd::reply_error(res, c.status, text);
      });
      const Error e = error_of([&] { client.get_instance("x"); });
      CHECK(e.kind() == c.kind);
      CHECK(e.http_status() == c.status);
      CHECK_THAT(e.what(), Catch::Contains(text));
      CHECK_THAT(e.what(), Catch::Contains("/1.0/instances/x"));
      CHECK_FALSE(e.unavailable());
    }
  }
}

TEST_CASE("lxd client: LXD 5.0's 'already exists' answers are Conflict", "[lxd]") {
  FakeLxd fake;
  Client client(options_for(fake));

  SECTION("a 500 for a profile name that is taken") {
    fake.on("POST", "/1.0/profiles", [](const auto&, auto& res) {
      FakeLxd::reply_error(
          res, 500, "Error inserting \"p1\" into database: The profile already exists");
    });
    lxe::lxd::ProfileSpec spec;
    spec.name = "p1";
    const Error e = error_of([&] { client.create_profile(spec); });
    CHECK(e.kind() == ErrorKind::Conflict);
    CHECK_THAT(e.what(), Catch::Contains("The profile already exists"));
  }
  SECTION("a failed create operation for an instance name that is taken") {
    fake.on("POST", "/1.0/instances", [](const auto&, auto& res) {
      FakeLxd::reply_async(res, "dup", "Creating instance");
    });
    fake.on("GET", "/1.0/operations/dup/wait", [](const auto&, auto& res) {
      FakeLxd::reply_sync(res, FakeLxd::operation("dup", 400,
                                                  "Failed creating instance record: Add instance "
                                                  "info to the database: This \"instances\" entry "
                                                  "already exists"));
    });
    lxe::lxd::InstanceSpec spec;
    spec.name = "c1";
    spec.source.alias = "busybox";
    const Error e = error_of([&] { client.create_instance(spec); });
    CHECK(e.kind() == ErrorKind::Conflict);
    CHECK_THAT(e.what(), Catch::Contains("entry already exists"));
  }
  SECTION("other 500s stay Server errors") {
    fake.on("GET", "/1.0", [](const auto&, auto& res) { FakeLxd::reply_error(res, 500, "disk full"); });
    CHECK(error_of([&] { client.server_info(); }).kind() == ErrorKind::Server);
  }
}

TEST_CASE("lxd client: an error answer that is not JSON keeps the status and the body", "[lxd]") {
  FakeLxd fake;
  fake.on("GET", "/1.0", [](const auto&, auto& res) {
    res.status = 502;
    res.set_content("bad gateway\n", "text/plain");
  });
  Client client(options_for(fake));
  const Error e = error_of([&] { client.server_info(); });
  CHECK(e.kind() == ErrorKind::Server);
  CHECK(e.http_status() == 502);
  CHECK_THAT(e.what(), Catch::Contains("bad gateway"));
}

TEST_CASE("lxd client: a hanging LXD makes the call fail with Timeout", "[lxd]") {
  FakeLxd fake;
  fake.on("GET", "/1.0", [&](const auto&, auto& res) {
    fake.sleep_for(30s);
    FakeLxd::reply_sync(res, json::object());
  });
  auto opts = options_for(fake);
  opts.request_timeout = 300ms;
  Client client(opts);
  const auto start = std::chrono::steady_clock::now();
  const Error e = error_of([&] { client.server_info(); });
  CHECK(e.kind() == ErrorKind::Timeout);
  CHECK(e.unavailable());
  CHECK(seconds_since(start) < 20.0);  // well before the 30 s hang ended

  SECTION("a per-call timeout overrides the default") {
    Client patient(options_for(fake));  // 2 s default
    const auto t0 = std::chrono::steady_clock::now();
    const Error e2 = error_of([&] { patient.request("GET", "/1.0", std::nullopt, "", 200ms); });
    CHECK(e2.kind() == ErrorKind::Timeout);
    CHECK(seconds_since(t0) < 20.0);
  }
}

TEST_CASE("lxd client: a slow answer within the timeout succeeds", "[lxd]") {
  FakeLxd fake;
  fake.on("GET", "/1.0", [&](const auto&, auto& res) {
    fake.sleep_for(300ms);
    FakeLxd::reply_sync(res, {{"api_version", "1.0"}});
  });
  Client client(options_for(fake));  // 2 s
  CHECK(client.server_info().api_version == "1.0");
}

TEST_CASE("lxd client: answers that are not LXD's JSON raise Protocol", "[lxd]") {
  FakeLxd fake;
  Client client(options_for(fake));

  SECTION("not JSON") {
    fake.on("GET", "/1.0", [](const auto&, auto& res) {
      res.set_content("{\"type\": \"sync\", \"metadata\": {", "application/json");
    });
    CHECK(error_of([&] { client.server_info(); }).kind() == ErrorKind::Protocol);
  }
  SECTION("JSON but not an envelope") {
    fake.on("GET", "/1.0", [](const auto&, auto& res) { res.set_content("[1,2]", "application/json"); });
    CHECK(error_of([&] { client.server_info(); }).kind() == ErrorKind::Protocol);
  }
  SECTION("an unknown response type") {
    fake.on("GET", "/1.0", [](const auto&, auto& res) {
      res.set_content(R"({"type":"weird","metadata":{}})", "application/json");
    });
    CHECK(error_of([&] { client.server_info(); }).kind() == ErrorKind::Protocol);
  }
  SECTION("an object of the wrong shape") {
    fake.on("GET", "/1.0/instances/x", [](const auto&, auto& res) {
      json bad = instance_json("x");
      bad["config"] = json::array({"not", "a", "map"});
      FakeLxd::reply_sync(res, bad);
    });
    CHECK(error_of([&] { client.get_instance("x"); }).kind() == ErrorKind::Protocol);
  }
  SECTION("a list where a list is expected, with a non-object inside") {
    fake.on("GET", "/1.0/instances", [](const auto&, auto& res) {
      FakeLxd::reply_sync(res, json::array({"/1.0/instances/x"}));
    });
    CHECK(error_of([&] { client.list_instances(); }).kind() == ErrorKind::Protocol);
  }
  SECTION("an async answer without an operation") {
    fake.on("DELETE", "/1.0/instances/x", [](const auto&, auto& res) {
      res.status = 202;
      res.set_content(R"({"type":"async","operation":"","metadata":{}})", "application/json");
    });
    CHECK(error_of([&] { client.delete_instance("x"); }).kind() == ErrorKind::Protocol);
  }
}

TEST_CASE("lxd client: a missing socket is a Transport error", "[lxd]") {
  ClientOptions o;
  o.socket_path = "/nonexistent/lxe-test/unix.socket";
  Client client(o);
  const Error e = error_of([&] { client.server_info(); });
  CHECK(e.kind() == ErrorKind::Transport);
  CHECK(e.unavailable());
  CHECK(e.http_status() == 0);
}

TEST_CASE("lxd client: a peer that answers and closes before the body gives no SIGPIPE", "[lxd]") {
  // httplib::Server (in FakeLxd) ignores SIGPIPE process-wide; the client must not rely on that.
  // This peer is a bare socket that does what LXD does for a stop of a missing instance when
  // asked to close: it reads the request head, answers 404 at once and closes, unread body and all.
  FakeLxd dir_owner;  // only for its temporary directory
  const std::string path = dir_owner.socket_path() + ".raw";
  const int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 16) == 0);
  std::thread peer([listener] {
    const std::string answer =
        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n"
        "Content-Length: 62\r\n\r\n"
        R"({"type":"error","error":"Instance not found","error_code":404})";
    for (;;) {
      const int conn = ::accept(listener, nullptr, nullptr);
      if (conn < 0) return;
      char buf[4096];
      std::string head;
      while (head.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::read(conn, buf, sizeof buf);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      (void)!::write(conn, answer.data(), answer.size());
      ::close(conn);
    }
  });

  const auto old_handler = ::signal(SIGPIPE, SIG_DFL);  // a stray SIGPIPE now kills the test
  ClientOptions o;
  o.socket_path = path;
  Client client(o);
  int transport = 0;
  for (int i = 0; i < 300; ++i) {
    try {
      client.stop_instance("c1", lxe::lxd::StopMode::Force);
    } catch (const Error& e) {
      // Either the 404 or, when the body write lost the race twice, a transport error.
      if (e.kind() == ErrorKind::Transport) ++transport;
      else CHECK(e.kind() == ErrorKind::NotFound);
    }
  }
  ::signal(SIGPIPE, old_handler);
  CHECK(transport < 300);

  sigset_t mask;
  REQUIRE(::pthread_sigmask(SIG_SETMASK, nullptr, &mask) == 0);
  CHECK_FALSE(sigismember(&mask, SIGPIPE));  // the block was undone

  ::shutdown(listener, SHUT_RDWR);
  ::close(listener);
  peer.join();
  ::unlink(path.c_str());
}

TEST_CASE("lxd client: after the socket goes away and comes back, the next call works", "[lxd]") {
  FakeLxd fake;
  fake.on("GET", "/1.0", [](const auto&, auto& res) {
    FakeLxd::reply_sync(res, {{"api_version", "1.0"}});
  });
  Client client(options_for(fake));
  CHECK(client.server_info().api_version == "1.0");

  fake.stop();
  CHECK(error_of([&] { client.server_info(); }).kind() == ErrorKind::Transport);

  fake.start();
  CHECK(client.server_info().api_version == "1.0");
}

TEST_CASE("lxd client: ETag is read from GET and sent back as If-Match", "[lxd]") {
  FakeLxd fake;
  const std::string etag = "\"0123abcd\"";
  json profile{{"name", "p1"},
               {"description", "d"},
               {"config", {{"limits.memory", "1GiB"}}},
               {"devices", {{"eth0", {{"type", "nic"}, {"nictype", "bridged"}}}}},
               {"used_by", {"/1.0/instances/c1"}}};
  fake.on("GET", "/1.0/profiles/p1", [&](const auto&, auto& res) {
    FakeLxd::reply_sync(res, profile, etag);
  });
  fake.on("PATCH", "/1.0/profiles/p1", [&](const httplib::Request& req, auto& res) {
    const auto match = req.get_header_value("If-Match");
    if (!match.empty() && match != etag) {
      FakeLxd::reply_error(res, 412, "ETag doesn't match: 0123abcd vs " + match);
      return;
    }
    FakeLxd::reply_sync(res, json::object());
  });
  Client client(options_for(fake));

  const auto p = client.get_profile("p1");
  CHECK(p.etag == etag);
  CHECK(p.name == "p1");
  CHECK(p.config.at("limits.memory") == "1GiB");
  CHECK(p.devices.at("eth0").at("nictype") == "bridged");
  CHECK(p.used_by == std::vector<std::string>{"/1.0/instances/c1"});

  client.patch_profile("p1", {{"config", {{"limits.memory", "2GiB"}}}}, p.etag);
  auto patches = fake.requests("PATCH", "/1.0/profiles/p1");
  REQUIRE(patches.size() == 1);
  CHECK(patches[0].header("If-Match") == etag);
  CHECK(json::parse(patches[0].body) == json{{"config", {{"limits.memory", "2GiB"}}}});

  SECTION("no If-Match when none is given") {
    client.patch_profile("p1", json::object());
    patches = fake.requests("PATCH", "/1.0/profiles/p1");
    REQUIRE(patches.size() == 2);
    CHECK(patches[1].header("If-Match").empty());
  }
  SECTION("a stale ETag is PreconditionFailed") {
    const Error e = error_of([&] { client.patch_profile("p1", json::object(), "\"stale\""); });
    CHECK(e.kind() == ErrorKind::PreconditionFailed);
    CHECK_THAT(e.what(), Catch::Contains("ETag doesn't match"));
  }
}

TEST_CASE("lxd client: async operations are waited for with /wait?timeout=N", "[lxd]") {
  FakeLxd fake;
  fake.on("POST", "/1.0/instances", [](const auto&, auto& res) {
    FakeLxd::reply_async(res, "op1", "Creating instance");
  });
  std::atomic<int> waits{0};
  int running_answers = 0;
  fake.on("GET", "/1.0/operations/op1/wait", [&](const auto&, auto& res) {
    const int n = ++waits;
    FakeLxd::reply_sync(res, FakeLxd::operation("op1", n <= running_answers ? 103 : 200, "",
                                                "Creating instance"));
  });
  Client client(options_for(fake));

  lxe::lxd::InstanceSpec spec;
  spec.name = "c1";
  spec.profiles = {"default", "p1"};
  spec.config = {{"user.lxe.managed", "true"}};
  spec.source.alias = "busybox";

  SECTION("done at the first wait") {
    client.create_instance(spec);
    CHECK(waits == 1);
  }
  SECTION("still running at the first waits: the client keeps waiting") {
    running_answers = 2;
    client.create_instance(spec);
    CHECK(waits == 3);
  }

  const auto posts = fake.requests("POST", "/1.0/instances");
  REQUIRE(posts.size() == 1);
  const json body = json::parse(posts[0].body);
  CHECK(body["name"] == "c1");
  CHECK(body["type"] == "container");
  CHECK(body["profiles"] == json{"default", "p1"});
  CHECK(body["config"]["user.lxe.managed"] == "true");
  CHECK(body["source"] == json{{"type", "image"}, {"alias", "busybox"}});
  CHECK(posts[0].header("Content-Type") == "application/json");

  const auto wait_requests = fake.requests("GET", "/1.0/operations/op1/wait");
  REQUIRE_FALSE(wait_requests.empty());
  for (const auto& w : wait_requests) {
    const int t = std::stoi(w.param("timeout"));
    CHECK(t >= 1);
    CHECK(t <= 5);  // never beyond the operation bound of 5 s
  }
}

TEST_CASE("lxd client: a failed operation raises OperationFailed with LXD's err", "[lxd]") {
  FakeLxd fake;
  fake.on("POST", "/1.0/instances", [](const auto&, auto& res) {
    FakeLxd::reply_async(res, "op2", "Creating instance");
  });
  Client client(options_for(fake));
  lxe::lxd::InstanceSpec spec;
  spec.name = "c1";
  spec.source.alias = "nope";

  SECTION("failure") {
    fake.on("GET", "/1.0/operations/op2/wait", [](const auto&, auto& res) {
      FakeLxd::reply_sync(res, FakeLxd::operation("op2", 400, "Failed creating instance: boom",
                                                  "Creating instance"));
    });
    const Error e = error_of([&] { client.create_instance(spec); });
    CHECK(e.kind() == ErrorKind::OperationFailed);
    CHECK_THAT(e.what(), Catch::Contains("Failed creating instance: boom"));
    CHECK_FALSE(e.unavailable());
  }
  SECTION("cancelled") {
    fake.on("GET", "/1.0/operations/op2/wait", [](const auto&, auto& res) {
      FakeLxd::reply_sync(res, FakeLxd::operation("op2", 401, "cancelled by user"));
    });
    const Error e = error_of([&] { client.create_instance(spec); });
    CHECK(e.kind() == ErrorKind::OperationFailed);
    CHECK_THAT(e.what(), Catch::Contains("cancelled by user"));
  }
}

TEST_CASE("lxd client: an operation that never ends fails with Timeout at the bound", "[lxd]") {
  FakeLxd fake;
  fake.on("DELETE", "/1.0/instances/c1", [](const auto&, auto& res) {
    FakeLxd::reply_async(res, "op3", "Deleting instance");
  });
  // Like LXD: hold the wait for its timeout, then answer with the still-running operation.
  fake.on("GET", "/1.0/operations/op3/wait", [&](const httplib::Request& req, auto& res) {
    const int t = std::stoi(req.get_param_value("timeout"));
    fake.sleep_for(std::chrono::seconds(t));
    FakeLxd::reply_sync(res, FakeLxd::operation("op3", 103));
  });
  auto opts = options_for(fake);
  opts.operation_timeout = 1500ms;
  Client client(opts);

  const auto start = std::chrono::steady_clock::now();
  const Error e = error_of([&] { client.delete_instance("c1"); });
  CHECK(e.kind() == ErrorKind::Timeout);
  CHECK_THAT(e.what(), Catch::Contains("op3"));
  CHECK(seconds_since(start) < 20.0);

  SECTION("an explicit bound on wait_operation") {
    const auto t0 = std::chrono::steady_clock::now();
    const Error e2 = error_of([&] { client.wait_operation("/1.0/operations/op3", 1000ms); });
    CHECK(e2.kind() == ErrorKind::Timeout);
    CHECK(seconds_since(t0) < 20.0);
  }
}

TEST_CASE("lxd client: a wait request that hangs past its own timeout is bounded", "[lxd]") {
  FakeLxd fake;
  fake.on("GET", "/1.0/operations/op4/wait", [&](const auto&, auto& res) {
    fake.sleep_for(60s);  // LXD ignoring the timeout it was given
    FakeLxd::reply_sync(res, FakeLxd::operation("op4", 200));
  });
  Client client(options_for(fake));
  const auto start = std::chrono::steady_clock::now();
  const Error e = error_of([&] { client.wait_operation("/1.0/operations/op4", 1000ms); });
  CHECK(e.kind() == ErrorKind::Timeout);
  CHECK(seconds_since(start) < 30.0);
}

TEST_CASE("lxd client: stopping an instance that is already stopped succeeds", "[lxd]") {
  FakeLxd fake;
  Client client(options_for(fake));

  SECTION("LXD 5.0: the stop operation fails with 'already stopped'") {
    fake.on("PUT", "/1.0/instances/c1/state", [](const auto&, auto& res) {
      FakeLxd::reply_async(res, "op5", "Stopping instance");
    });
    fake.on("GET", "/1.0/operations/op5/wait", [](const auto&, auto& res) {
      FakeLxd::reply_sync(res, FakeLxd::operation("op5", 400, "The instance is already stopped"));
    });
    CHECK_NOTHROW(client.stop_instance("c1", lxe::lxd::StopMode::Force));
    CHECK_NOTHROW(client.stop_instance("c1", lxe::lxd::StopMode::Graceful, 5s));
    // Graceful found it stopped: no forced stop followed.
    CHECK(fake.requests("PUT", "/1.0/instances/c1/state").size() == 2);
  }
  SECTION("the instance's init exited while the stop was under way") {
    fake.on("PUT", "/1.0/instances/c1/state", [](const auto&, auto& res) {
      FakeLxd::reply_async(res, "op6", "Stopping instance");
    });
    fake.on("GET", "/1.0/operations/op6/wait", [](const auto&, auto& res) {
      FakeLxd::reply_sync(res, FakeLxd::operation("op6", 400, "container is not running: \"c1\""));
    });
    CHECK_NOTHROW(client.stop_instance("c1", lxe::lxd::StopMode::Force));
  }
  SECTION("a plain 400 'already stopped'") {
    fake.on("PUT", "/1.0/instances/c1/state", [](const auto&, auto& res) {
      FakeLxd::reply_error(res, 400, "The instance is already stopped");
    });
    CHECK_NOTHROW(client.stop_instance("c1", lxe::lxd::StopMode::Force));
  }
  SECTION("other failures still raise") {
    fake.on("PUT", "/1.0/instances/c1/state", [](const auto&, auto& res) {
      FakeLxd::reply_error(res, 404, "Instance not found");
    });
    CHECK(error_of([&] { client.stop_instance("c1", lxe::lxd::StopMode::Graceful, 5s); }).kind() ==
          ErrorKind::NotFound);
    CHECK(fake.requests("PUT", "/1.0/instances/c1/state").size() == 1);
  }
}

TEST_CASE("lxd client: a graceful stop that times out is followed by a forced stop", "[lxd]") {
  FakeLxd fake;
  fake.on("PUT", "/1.0/instances/c1/state", [](const httplib::Request& req, auto& res) {
    const bool force = json::parse(req.body).value("force", false);
    FakeLxd::reply_async(res, force ? "force" : "clean", "Stopping instance");
  });
  fake.on("GET", "/1.0/operations/clean/wait", [](const auto&, auto& res) {
    FakeLxd::reply_sync(res, FakeLxd::operation(
                                 "clean", 400,
                                 "Failed shutting down instance, status is \"Running\": shutting "
                                 "down the container failed"));
  });
  fake.on("GET", "/1.0/operations/force/wait", [](const auto&, auto& res) {
    FakeLxd::reply_sync(res, FakeLxd::operation("force", 200));
  });
  Client client(options_for(fake));
  client.stop_instance("c1", lxe::lxd::StopMode::Graceful, 3s);

  const auto puts = fake.requests("PUT", "/1.0/instances/c1/state");
  REQUIRE(puts.size() == 2);
  CHECK(json::parse(puts[0].body) == json{{"action", "stop"}, {"timeout", 3}, {"force", false}});
  CHECK(json::parse(puts[1].body) == json{{"action", "stop"}, {"timeout", 0}, {"force", true}});
}

TEST_CASE("lxd client: list_instances sends recursion and an encoded filter", "[lxd]") {
  FakeLxd fake;
  fake.on("GET", "/1.0/instances", [](const httplib::Request& req, auto& res) {
    json a = instance_json("a", 103);
    if (req.get_param_value("recursion") == "2") {
      a["state"] = {{"status", "Running"}, {"status_code", 103}, {"pid", 4242}};
    }
    FakeLxd::reply_sync(res, json::array({a, instance_json("b")}));
  });
  Client client(options_for(fake));

  const auto list = client.list_instances("config.user.lxe.managed eq true");
  REQUIRE(list.size() == 2);
  CHECK(list[0].name == "a");
  CHECK(list[0].running());
  CHECK_FALSE(list[1].running());
  CHECK_FALSE(list[0].state.has_value());
  CHECK(list[0].expanded_config.at("limits.memory") == "1GiB");
  CHECK(list[0].expanded_devices.at("root").at("pool") == "default");
  auto reqs = fake.requests("GET", "/1.0/instances");
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].param("recursion") == "1");
  CHECK(reqs[0].param("filter") == "config.user.lxe.managed eq true");

  const auto with_state = client.list_instances("", true);
  REQUIRE(with_state[0].state.has_value());
  CHECK(with_state[0].state->pid == 4242);
  reqs = fake.requests("GET", "/1.0/instances");
  CHECK(reqs[1].param("recursion") == "2");
  CHECK(reqs[1].param("filter").empty());
}

TEST_CASE("lxd client: images and aliases are parsed", "[lxd]") {
  FakeLxd fake;
  const json image{{"fingerprint", "abc123"},
                   {"architecture", "x86_64"},
                   {"type", "container"},
                   {"size", 1037234},
                   {"aliases", {{{"name", "busybox"}, {"description", ""}}}},
                   {"properties", {{"os", "busybox"}}},
                   {"created_at", "2024-01-01T00:00:00Z"},
                   {"uploaded_at", "2024-01-02T00:00:00Z"}};
  fake.on("GET", "/1.0/images", [&](const auto&, auto& res) {
    FakeLxd::reply_sync(res, json::array({image}));
  });
  fake.on("GET", "/1.0/images/abc", [&](const auto&, auto& res) { FakeLxd::reply_sync(res, image); });
  fake.on("GET", "/1.0/images/aliases/library/busybox", [](const auto&, auto& res) {
    FakeLxd::reply_sync(res, {{"name", "library/busybox"}, {"description", ""}, {"target", "abc123"}});
  });
  Client client(options_for(fake));

  const auto images = client.list_images();
  REQUIRE(images.size() == 1);
  CHECK(images[0].size == 1037234);
  REQUIRE(images[0].aliases.size() == 1);
  CHECK(images[0].aliases[0].name == "busybox");
  CHECK(images[0].aliases[0].target == "abc123");
  CHECK(images[0].properties.at("os") == "busybox");
  CHECK(client.get_image("abc").fingerprint == "abc123");
  CHECK(client.get_image_alias("library/busybox").target == "abc123");
}

namespace {

// A finished exec operation as LXD 5.0 reports it with record-output.
json exec_operation(const std::string& id, int status_code, int exit_code, const std::string& err = "") {
  json op = FakeLxd::operation(id, status_code, err, "Executing command");
  op["metadata"] = {{"output",
                     {{"1", "/1.0/instances/c1/logs/exec_" + id + ".stdout"},
                      {"2", "/1.0/instances/c1/logs/exec_" + id + ".stderr"}}},
                    {"return", exit_code}};
  return op;
}

// Serves an exec's output logs (raw bytes, like LXD) and accepts their deletion.
void serve_exec_logs(FakeLxd& fake, const std::string& id, const std::string& out,
                     const std::string& err) {
  const std::string base = "/1.0/instances/c1/logs/exec_" + id;
  fake.on("GET", base + ".stdout", [out](const auto&, auto& res) {
    res.set_content(out, "application/octet-stream");
  });
  fake.on("GET", base + ".stderr", [err](const auto&, auto& res) {
    res.set_content(err, "application/octet-stream");
  });
  for (const char* ext : {".stdout", ".stderr"}) {
    fake.on("DELETE", base + ext, [](const auto&, auto& res) { FakeLxd::reply_sync(res, json::object()); });
  }
}

}  // namespace

TEST_CASE("lxd client: exec returns the exit code and both outputs, and deletes the logs", "[lxd]") {
  FakeLxd fake;
  fake.on("POST", "/1.0/instances/c1/exec", [](const auto&, auto& res) {
    FakeLxd::reply_async(res, "ex1", "Executing command");
  });
  fake.on("GET", "/1.0/operations/ex1/wait", [](const auto&, auto& res) {
    FakeLxd::reply_sync(res, exec_operation("ex1", 200, 3));
  });
  // Output is bytes, not text: a NUL and a non-UTF-8 byte must come through.
  const std::string out("out\n\0\xff", 6);
  serve_exec_logs(fake, "ex1", out, "err\n");
  Client client(options_for(fake));

  const auto result = client.exec("c1", {"sh", "-c", "echo out; echo err >&2; exit 3"},
                                  {{"FOO", "bar"}}, "/tmp");
  CHECK(result.exit_code == 3);
  CHECK(result.stdout_data == out);
  CHECK(result.stderr_data == "err\n");

  const auto posts = fake.requests("POST", "/1.0/instances/c1/exec");
  REQUIRE(posts.size() == 1);
  const json body = json::parse(posts[0].body);
  CHECK(body["command"] == json{"sh", "-c", "echo out; echo err >&2; exit 3"});
  CHECK(body["environment"] == json{{"FOO", "bar"}});
  CHECK(body["cwd"] == "/tmp");
  CHECK(body["record-output"] == true);
  CHECK(body["wait-for-websocket"] == false);
  CHECK(body["interactive"] == false);
  CHECK(fake.requests("DELETE", "/1.0/instances/c1/logs/exec_ex1.stdout").size() == 1);
  CHECK(fake.requests("DELETE", "/1.0/instances/c1/logs/exec_ex1.stderr").size() == 1);

  SECTION("no cwd is sent when none is given") {
    client.exec("c1", {"true"});
    const json second = json::parse(fake.requests("POST", "/1.0/instances/c1/exec").at(1).body);
    CHECK_FALSE(second.contains("cwd"));
    CHECK(second["environment"] == json::object());
  }
  SECTION("a log that cannot be deleted does not fail the exec") {
    fake.on("DELETE", "/1.0/instances/c1/logs/exec_ex1.stdout", [](const auto&, auto& res) {
      FakeLxd::reply_error(res, 500, "remove: permission denied");
    });
    CHECK(client.exec("c1", {"true"}).exit_code == 3);
    CHECK(fake.requests("DELETE", "/1.0/instances/c1/logs/exec_ex1.stderr").size() == 2);
  }
  SECTION("a log that cannot be read fails the exec, and both logs are still deleted") {
    fake.on("GET", "/1.0/instances/c1/logs/exec_ex1.stderr", [](const auto&, auto& res) {
      FakeLxd::reply_error(res, 500, "open /var/log/lxd/c1/exec_ex1.stderr: no such file");
    });
    const Error e = error_of([&] { client.exec("c1", {"true"}); });
    CHECK(e.kind() == ErrorKind::Server);
    CHECK_THAT(e.what(), Catch::Contains("no such file"));
    CHECK(fake.requests("DELETE", "/1.0/instances/c1/logs/exec_ex1.stdout").size() == 2);
    CHECK(fake.requests("DELETE", "/1.0/instances/c1/logs/exec_ex1.stderr").size() == 2);
  }
}

TEST_CASE("lxd client: an exec LXD reports as 'Command not found' is exit code 127 with its output", "[lxd]") {
  FakeLxd fake;
  fake.on("POST", "/1.0/instances/c1/exec", [](const auto&, auto& res) {
    FakeLxd::reply_async(res, "ex2", "Executing command");
  });
  // LXD 5.0 for a command that does not exist: the operation fails, and still names its logs.
  fake.on("GET", "/1.0/operations/ex2/wait", [](const auto&, auto& res) {
    FakeLxd::reply_sync(res, exec_operation("ex2", 400, 127, "Command not found"));
  });
  serve_exec_logs(fake, "ex2", "", "sh: nonexistent: not found\n");
  Client client(options_for(fake));

  const lxe::lxd::ExecResult r = client.exec("c1", {"/nonexistent"});
  CHECK(r.exit_code == 127);
  CHECK(r.command_not_found);
  CHECK(r.stderr_data == "sh: nonexistent: not found\n");
  CHECK(fake.requests("DELETE", "/1.0/instances/c1/logs/exec_ex2.stdout").size() == 1);
  CHECK(fake.requests("DELETE", "/1.0/instances/c1/logs/exec_ex2.stderr").size() == 1);
}

TEST_CASE("lxd client: an exec LXD reports as 'Command not executable' is exit code 126 with its output", "[lxd]") {
  FakeLxd fake;
  fake.on("POST", "/1.0/instances/c1/exec", [](const auto&, auto& res) {
    FakeLxd::reply_async(res, "ex4", "Executing command");
  });
  // LXD 5.0 for a command that exits 126 (a shell that found the program but may not run it).
  fake.on("GET", "/1.0/operations/ex4/wait", [](const auto&, auto& res) {
    FakeLxd::reply_sync(res, exec_operation("ex4", 400, 126, "Command not executable"));
  });
  serve_exec_logs(fake, "ex4", "", "/bin/sh: /bin/ls: Permission denied\n");
  Client client(options_for(fake));

  const lxe::lxd::ExecResult r = client.exec("c1", {"/bin/sh", "-c", "/bin/ls"});
  CHECK(r.exit_code == 126);
  CHECK_FALSE(r.command_not_found);
  CHECK(r.stderr_data == "/bin/sh: /bin/ls: Permission denied\n");
}

TEST_CASE("lxd client: an exec whose operation fails otherwise raises OperationFailed with LXD's message", "[lxd]") {
  FakeLxd fake;
  fake.on("POST", "/1.0/instances/c1/exec", [](const auto&, auto& res) {
    FakeLxd::reply_async(res, "ex3", "Executing command");
  });
  fake.on("GET", "/1.0/operations/ex3/wait", [](const auto&, auto& res) {
    FakeLxd::reply_sync(res, exec_operation("ex3", 400, 1, "Failed to start the command"));
  });
  serve_exec_logs(fake, "ex3", "", "");
  Client client(options_for(fake));

  const Error e = error_of([&] { client.exec("c1", {"/bin/true"}); });
  CHECK(e.kind() == ErrorKind::OperationFailed);
  CHECK_THAT(e.what(), Catch::Contains("Failed to start the command"));
  CHECK(fake.requests("DELETE", "/1.0/instances/c1/logs/exec_ex3.stdout").size() == 1);
}

TEST_CASE("lxd client: LXD busy with another operation on the object is ErrorKind::Busy, however it says so",
          "[lxd]") {
  FakeLxd fake;
  fake.on("PUT", "/1.0/instances/c1/state", [](const auto&, auto& res) {
    FakeLxd::reply_error(res, 400, "Instance is busy running a \"stop\" operation");
  });
  fake.on("PATCH", "/1.0/instances/c1", [](const auto&, auto& res) {
    FakeLxd::reply_error(res, 500, "A matching non-reusable operation has now succeeded");
  });
  fake.on("DELETE", "/1.0/instances/c1", [](const auto&, auto& res) {
    FakeLxd::reply_error(res, 400, "Instance is running");
  });
  Client client(options_for(fake));
  const Error start = error_of([&] { client.start_instance("c1"); });
  CHECK(start.kind() == ErrorKind::Busy);
  CHECK(start.transient());
  CHECK_FALSE(start.unavailable());
  const Error patch = error_of([&] { client.patch_instance("c1", nlohmann::json::object()); });
  CHECK(patch.kind() == ErrorKind::Busy);
  const Error del = error_of([&] { client.delete_instance("c1"); });
  CHECK(del.kind() == ErrorKind::BadRequest);
  CHECK_FALSE(del.transient());
}

TEST_CASE("lxd client: an exec on an instance that is not running is BadRequest", "[lxd]") {
  FakeLxd fake;
  fake.on("POST", "/1.0/instances/c1/exec", [](const auto&, auto& res) {
    FakeLxd::reply_error(res, 400, "Instance is not running");
  });
  Client client(options_for(fake));
  const Error e = error_of([&] { client.exec("c1", {"true"}); });
  CHECK(e.kind() == ErrorKind::BadRequest);
  CHECK_THAT(e.what(), Catch::Contains("Instance is not running"));
}

TEST_CASE("lxd client: an exec that outlives its bound fails with Timeout", "[lxd]") {
  FakeLxd fake;
  fake.on("POST", "/1.0/instances/c1/exec", [](const auto&, auto& res) {
    FakeLxd::reply_async(res, "ex3", "Executing command");
  });
  fake.on("GET", "/1.0/operations/ex3/wait", [&](const httplib::Request& req, auto& res) {
    fake.sleep_for(std::chrono::seconds(std::stoi(req.get_param_value("timeout"))));
    FakeLxd::reply_sync(res, FakeLxd::operation("ex3", 103, "", "Executing command"));
  });
  Client client(options_for(fake));  // operation bound 5 s: the exec's own 1 s must win
  const auto start = std::chrono::steady_clock::now();
  const Error e = error_of([&] { client.exec("c1", {"sleep", "100"}, {}, "", 1000ms); });
  CHECK(e.kind() == ErrorKind::Timeout);
  CHECK(seconds_since(start) < 4.0);
}

namespace {

constexpr const char* kFingerprint = "f00dfeed";

// An image upload that LXD accepts (or, with `duplicate`, finds already stored).
void serve_image_upload(FakeLxd& fake, bool duplicate = false) {
  fake.on("POST", "/1.0/images", [](const auto&, auto& res) {
    FakeLxd::reply_async(res, "up1", "Downloading image");
  });
  fake.on("GET", "/1.0/operations/up1/wait", [duplicate](const auto&, auto& res) {
    json op = duplicate ? FakeLxd::operation("up1", 400, "Image with same fingerprint already exists",
                                             "Downloading image")
                        : FakeLxd::operation("up1", 200, "", "Downloading image");
    op["metadata"] = {{"fingerprint", kFingerprint}, {"size", "10240"}};
    FakeLxd::reply_sync(res, op);
  });
  fake.on("PATCH", std::string("/1.0/images/") + kFingerprint, [](const auto&, auto& res) {
    FakeLxd::reply_sync(res, json::object());
  });
  fake.on("DELETE", std::string("/1.0/images/") + kFingerprint, [](const auto&, auto& res) {
    FakeLxd::reply_async(res, "del1", "Deleting image");
  });
  fake.on("GET", "/1.0/operations/del1/wait", [](const auto&, auto& res) {
    FakeLxd::reply_sync(res, FakeLxd::operation("del1", 200, "", "Deleting image"));
  });
}

}  // namespace

TEST_CASE("lxd client: import_image uploads the tarball, sets properties and creates the alias", "[lxd]") {
  FakeLxd fake;
  serve_image_upload(fake);
  fake.on("POST", "/1.0/images/aliases", [](const auto&, auto& res) {
    FakeLxd::reply_sync(res, nullptr);
  });
  Client client(options_for(fake));
  // A tar is binary: NULs all over.
  std::string tarball(10240, '\0');
  tarball.replace(0, 13, "metadata.yaml");
  tarball[5000] = '\xff';

  CHECK(client.import_image(tarball, "lxe/pause", {{"os", "lxe"}, {"description", "a b&c=d"}}) ==
        kFingerprint);

  const auto uploads = fake.requests("POST", "/1.0/images");
  REQUIRE(uploads.size() == 1);
  CHECK(uploads[0].body == tarball);
  CHECK(uploads[0].header("Content-Type") == "application/octet-stream");
  CHECK(uploads[0].header("X-LXD-public") == "false");
  const auto patches = fake.requests("PATCH", std::string("/1.0/images/") + kFingerprint);
  REQUIRE(patches.size() == 1);
  CHECK(json::parse(patches[0].body) ==
        json{{"properties", {{"os", "lxe"}, {"description", "a b&c=d"}}}});
  const auto aliases = fake.requests("POST", "/1.0/images/aliases");
  REQUIRE(aliases.size() == 1);
  const json alias = json::parse(aliases[0].body);
  CHECK(alias["name"] == "lxe/pause");
  CHECK(alias["target"] == kFingerprint);
  CHECK(fake.requests("DELETE", std::string("/1.0/images/") + kFingerprint).empty());

  SECTION("without properties there is no PATCH") {
    client.import_image(tarball, "lxe/pause");
    CHECK(fake.requests("PATCH", std::string("/1.0/images/") + kFingerprint).size() == 1);
  }
}

TEST_CASE("lxd client: import_image of an image LXD already has still sets the alias", "[lxd]") {
  FakeLxd fake;
  serve_image_upload(fake, /*duplicate=*/true);
  fake.on("POST", "/1.0/images/aliases", [](const auto&, auto& res) {
    FakeLxd::reply_sync(res, nullptr);
  });
  Client client(options_for(fake));
  CHECK(client.import_image("tar", "lxe/pause") == kFingerprint);
  CHECK(fake.requests("POST", "/1.0/images/aliases").size() == 1);
  CHECK(fake.requests("DELETE", std::string("/1.0/images/") + kFingerprint).empty());
}

TEST_CASE("lxd client: import_image with an alias that is taken", "[lxd]") {
  FakeLxd fake;
  fake.on("POST", "/1.0/images/aliases", [](const auto&, auto& res) {
    FakeLxd::reply_error(res, 409, "Alias \"lxe/pause\" already exists");
  });
  std::string target = "0ther";
  fake.on("GET", "/1.0/images/aliases/lxe/pause", [&](const auto&, auto& res) {
    FakeLxd::reply_sync(res, {{"name", "lxe/pause"}, {"description", ""}, {"target", target}});
  });
  Client client(options_for(fake));

  SECTION("by another image: Conflict, and the uploaded image is deleted again") {
    serve_image_upload(fake);
    const Error e = error_of([&] { client.import_image("tar", "lxe/pause"); });
    CHECK(e.kind() == ErrorKind::Conflict);
    CHECK_THAT(e.what(), Catch::Contains("0ther"));
    CHECK(fake.requests("DELETE", std::string("/1.0/images/") + kFingerprint).size() == 1);
  }
  SECTION("by another image, when the upload found the image already there: it stays") {
    serve_image_upload(fake, /*duplicate=*/true);
    CHECK(error_of([&] { client.import_image("tar", "lxe/pause"); }).kind() == ErrorKind::Conflict);
    CHECK(fake.requests("DELETE", std::string("/1.0/images/") + kFingerprint).empty());
  }
  SECTION("by this very image: fine") {
    serve_image_upload(fake);
    target = kFingerprint;
    CHECK(client.import_image("tar", "lxe/pause") == kFingerprint);
    CHECK(fake.requests("DELETE", std::string("/1.0/images/") + kFingerprint).empty());
  }
}

TEST_CASE("lxd client: a failed image upload raises OperationFailed", "[lxd]") {
  FakeLxd fake;
  fake.on("POST", "/1.0/images", [](const auto&, auto& res) {
    FakeLxd::reply_async(res, "up2", "Downloading image");
  });
  fake.on("GET", "/1.0/operations/up2/wait", [](const auto&, auto& res) {
    FakeLxd::reply_sync(res, FakeLxd::operation("up2", 400, "Metadata tarball is missing metadata.yaml"));
  });
  Client client(options_for(fake));
  const Error e = error_of([&] { client.import_image("not a tar", "x"); });
  CHECK(e.kind() == ErrorKind::OperationFailed);
  CHECK_THAT(e.what(), Catch::Contains("missing metadata.yaml"));
  CHECK(fake.requests("POST", "/1.0/images/aliases").empty());
}

TEST_CASE("lxd client: delete_image waits for the operation", "[lxd]") {
  FakeLxd fake;
  serve_image_upload(fake);
  Client client(options_for(fake));
  client.delete_image(kFingerprint);
  CHECK(fake.requests("GET", "/1.0/operations/del1/wait").size() == 1);
}
