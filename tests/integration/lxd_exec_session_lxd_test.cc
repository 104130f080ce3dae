// lxd::ExecSession (a command with live stdin, stdout and stderr through LXD's exec websockets)
// against the real LXD of this machine (scripts/setup.sh starts it and imports the `busybox`
// image). Objects are named with the run prefix and marked with this process's pid, as in
// lxd_client_lxd_test.cc. The tests share one running container, created on first use and deleted
// when the test process exits (ctest runs each test case in a process of its own, so each makes
// its own there; a whole run of the file makes one).
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "lxd/client.h"
#include "lxd/exec_session.h"
#include "support/test_lxd.h"

using lxe::lxd::Client;
using lxe::lxd::Error;
using lxe::lxd::ErrorKind;
using lxe::lxd::ExecOutput;
using lxe::lxd::ExecSession;
using lxe::lxd::ExecSessionSpec;
using lxe::test::LxdCleanup;
using lxe::test::test_name;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// Not a speed check (benchmarks measure speed): a destruction that ends before the destructor's
// 10 s give-up bound ended because the command was gone, not because the session gave up waiting.
constexpr auto kEndedBeforeGiveUp = std::chrono::seconds(8);

constexpr const char* kImageAlias = "busybox";
// busybox has no init; sleep as PID 1 ignores the shutdown signal, so clean stops time out.
constexpr const char* kInitCmd = "lxc.init.cmd = /bin/sleep 100000";

Client lxd_client() { return lxe::test::swept_test_lxd_client(); }

lxe::lxd::InstanceSpec marked_container(const std::string& name) {
  lxe::lxd::InstanceSpec spec;
  spec.name = name;
  spec.profiles = {"default"};
  spec.config = {{"raw.lxc", kInitCmd}};
  lxe::test::mark(spec.config);
  spec.source.alias = kImageAlias;
  return spec;
}

// The running container the tests share. A container costs about a second to create and start;
// the sessions it runs do not disturb each other, as each test waits for its own to end.
struct SharedContainer {
  SharedContainer() : client(lxd_client()), cleanup(client), name(cleanup.instance(test_name("xs"))) {
    client.create_instance(marked_container(name));
    client.start_instance(name);
  }
  Client client;
  LxdCleanup cleanup;  // deletes the container at exit (after `client`'s last use, before it dies)
  std::string name;
};

const SharedContainer& shared_container() {
  static SharedContainer container;  // a failed creation throws, and the next test tries again
  return container;
}

// Collects a session's output; it must outlive the session.
class Collected {
 public:
  ExecOutput output() {
    return {[this](std::string_view d) { append(out_, d); }, [this](std::string_view d) { append(err_, d); }};
  }
  std::string out() const {
    std::lock_guard lock(mutex_);
    return out_;
  }
  std::string err() const {
    std::lock_guard lock(mutex_);
    return err_;
  }
  // Waits until stdout holds `needle` (at most `timeout`).
  bool out_contains(const std::string& needle, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return out_.find(needle) != std::string::npos; });
  }

 private:
  void append(std::string& to, std::string_view d) {
    {
      std::lock_guard lock(mutex_);
      to.append(d);
    }
    cv_.notify_all();
  }
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::string out_, err_;
};

ExecSessionSpec command(std::vector<std::string> argv, bool interactive = false) {
  ExecSessionSpec spec;
  spec.command = std::move(argv);
  spec.interactive = interactive;
  return spec;
}

// Whether LXD lists a running operation on `instance` (an exec's operation names its instance).
bool running_operation_on(const Client& client, const std::string& instance) {
  const json ops = client.request("GET", "/1.0/operations?recursion=1").metadata;
  if (!ops.is_object() || !ops.contains("running")) return false;
  for (const auto& op : ops["running"]) {
    const json resources = op.value("resources", json::object());
    for (const auto& [kind, paths] : resources.items()) {
      for (const auto& path : paths) {
        if (path.is_string() && path.get<std::string>() == "/1.0/instances/" + instance) return true;
      }
    }
  }
  return false;
}

// Whether a process with exactly these arguments runs in the container (busybox ps shows them).
bool process_runs(const Client& client, const std::string& instance, const std::string& args) {
  const auto ps = client.exec(instance, {"ps", "-o", "args"});
  REQUIRE(ps.exit_code == 0);
  return ps.stdout_data.find("\n" + args + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("exec session on real LXD: stdout and stderr apart, exit codes, environment and cwd",
          "[lxd][exec-session]") {
  const auto& c = shared_container();
  {
    Collected got;
    ExecSession session(c.client, c.name, command({"sh", "-c", "echo out; echo err >&2"}), got.output());
    CHECK(session.wait(10s) == 0);
    CHECK(session.exit_code() == 0);
    CHECK(got.out() == "out\n");
    CHECK(got.err() == "err\n");
  }
  {
    Collected got;
    ExecSession session(c.client, c.name, command({"sh", "-c", "echo three; exit 3"}), got.output());
    CHECK(session.wait() == 3);
    CHECK(got.out() == "three\n");
    CHECK(got.err().empty());
  }
  {
    Collected got;
    auto spec = command({"sh", "-c", "echo $FOO; pwd"});
    spec.environment = {{"FOO", "bar"}};
    spec.cwd = "/tmp";
    ExecSession session(c.client, c.name, spec, got.output());
    CHECK(session.wait(10s) == 0);
    CHECK(got.out() == "bar\n/tmp\n");
  }
  {
    // LXD fails the operation ("Command not found") but reports 127, as a shell would.
    ExecSession session(c.client, c.name, command({"/nonexistent/command"}), {});
    CHECK(session.wait(10s) == 127);
  }
  // No output callbacks at all: the output is read and dropped.
  ExecSession quiet(c.client, c.name, command({"sh", "-c", "echo dropped; echo dropped >&2; exit 4"}), {});
  CHECK(quiet.wait(10s) == 4);
}

TEST_CASE("exec session on real LXD: cat echoes stdin and ends at close_stdin, stdin back-pressure",
          "[lxd][exec-session]") {
  const auto& c = shared_container();
  {
    Collected got;
    ExecSession session(c.client, c.name, command({"cat"}), got.output());
    session.write_stdin("hello ");
    session.write_stdin("world\n");
    CHECK(got.out_contains("hello world\n", 10s));
    CHECK_FALSE(session.wait(100ms).has_value());  // cat waits for more
    CHECK_FALSE(session.exit_code().has_value());
    session.close_stdin();
    CHECK(session.wait(10s) == 0);
    CHECK(got.out() == "hello world\n");
    session.write_stdin("too late");  // dropped, no error
  }
  const std::string chunk(64 * 1024, 'x');
  {
    // A writer that keeps at most 1 MiB queued: the queue drains as the command reads.
    Collected got;
    ExecSession session(c.client, c.name, command({"wc", "-c"}), got.output());
    for (int i = 0; i < 80; ++i) {
      REQUIRE(session.wait_stdin_below(1 << 20, 10s));
      session.write_stdin(chunk);
    }
    session.close_stdin();
    CHECK(session.wait(30s) == 0);
    CHECK(got.out().find("5242880") != std::string::npos);
  }
  {
    // A command that does not read its stdin: the queue stays full; the session still ends at once
    // when destroyed, and its command with it.
    std::chrono::steady_clock::time_point destroyed;
    {
      ExecSession session(c.client, c.name, command({"sleep", "986"}), {});
      for (int i = 0; i < 128; ++i) session.write_stdin(chunk);  // 8 MiB
      CHECK_FALSE(session.wait_stdin_below(1 << 20, 300ms));
      destroyed = std::chrono::steady_clock::now();
    }
    CHECK(std::chrono::steady_clock::now() - destroyed < kEndedBeforeGiveUp);
    CHECK_FALSE(process_runs(c.client, c.name, "sleep 986"));
  }
}

TEST_CASE("exec session on real LXD: 4 MiB of output arrive complete, also to a slow reader",
          "[lxd][exec-session]") {
  const auto& c = shared_container();
  for (const bool slow : {false, true}) {
    INFO("slow reader: " << slow);
    size_t bytes = 0, wrong = 0, err_bytes = 0;
    ExecOutput output{[&](std::string_view d) {
                        bytes += d.size();
                        for (char ch : d) wrong += ch != 'x';
                        // Back-pressure: LXD and the command wait meanwhile.
                        if (slow) std::this_thread::sleep_for(5ms);
                      },
                      [&](std::string_view d) { err_bytes += d.size(); }};
    ExecSession session(c.client, c.name,
                        command({"sh", "-c", "head -c 4194304 /dev/zero | tr '\\0' x; echo done >&2"}), output);
    CHECK(session.wait(60s) == 0);
    // wait() returned: every byte was delivered before it.
    CHECK(bytes == 4194304);
    CHECK(wrong == 0);
    CHECK(err_bytes == 5);
  }
}

TEST_CASE("exec session on real LXD: interactive, terminal size and resize, EOF by ^D", "[lxd][exec-session]") {
  const auto& c = shared_container();
  {
    Collected got;
    auto spec = command({"sh", "-c", "stty size; while read line; do stty size; done; exit 5"}, true);
    spec.width = 100;
    spec.height = 30;
    ExecSession session(c.client, c.name, spec, got.output());
    CHECK(got.out_contains("30 100", 10s));
    session.resize(120, 40);
    // The resize and the lines travel on different websockets: ask until the new size shows.
    bool resized = false;
    for (int i = 0; i < 50 && !resized; ++i) {
      session.write_stdin("\n");
      resized = got.out_contains("40 120", 100ms);
    }
    CHECK(resized);
    session.close_stdin();  // a no-op for a pty ...
    CHECK_FALSE(session.wait(200ms).has_value());
    session.write_stdin("\x04");  // ... whose EOF is ^D
    CHECK(session.wait(10s) == 5);
    CHECK(got.err().empty());  // a pty has one output stream
  }
  {
    Collected got;
    ExecSession session(c.client, c.name, command({"cat"}, true), got.output());
    session.write_stdin("abc\n");
    CHECK(got.out_contains("abc\r\nabc\r\n", 10s));  // the terminal's echo, then cat's
    session.write_stdin("\x04");
    CHECK(session.wait(10s) == 0);
  }
}

TEST_CASE("exec session on real LXD: signals", "[lxd][exec-session]") {
  const auto& c = shared_container();
  ExecSession session(c.client, c.name, command({"sleep", "1000"}), {});
  CHECK_FALSE(session.wait(200ms).has_value());
  session.signal(SIGTERM);
  // LXD reports a command a signal killed as 128 + the signal, in a successful operation.
  CHECK(session.wait(10s) == 128 + SIGTERM);
  CHECK(session.exit_code() == 143);
}

TEST_CASE("exec session on real LXD: destroying a session kills its command and ends its operation",
          "[lxd][exec-session]") {
  const auto& c = shared_container();
  for (const bool interactive : {false, true}) {
    INFO("interactive: " << interactive);
    const std::string args = interactive ? "sleep 988" : "sleep 987";
    std::chrono::steady_clock::time_point destroyed;
    {
      ExecSession session(c.client, c.name, command({"sleep", args.substr(6)}, interactive), {});
      CHECK_FALSE(session.wait(300ms).has_value());
      CHECK(process_runs(c.client, c.name, args));
      CHECK(running_operation_on(c.client, c.name));
      destroyed = std::chrono::steady_clock::now();
    }
    const auto took = std::chrono::steady_clock::now() - destroyed;
    INFO("destruction took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
    CHECK(took < kEndedBeforeGiveUp);
    CHECK_FALSE(running_operation_on(c.client, c.name));
    CHECK_FALSE(process_runs(c.client, c.name, args));
  }
  // A session whose command has ended is destroyed at once.
  std::chrono::steady_clock::time_point destroyed;
  {
    ExecSession session(c.client, c.name, command({"true"}), {});
    CHECK(session.wait(10s) == 0);
    destroyed = std::chrono::steady_clock::now();
  }
  CHECK(std::chrono::steady_clock::now() - destroyed < kEndedBeforeGiveUp);
}

TEST_CASE("exec session on real LXD: a stopped or missing instance is refused", "[lxd][exec-session]") {
  Client client = lxd_client();
  LxdCleanup cleanup(client);
  const std::string name = cleanup.instance(test_name("xstop"));
  client.create_instance(marked_container(name));
  CHECK(lxe::test::error_kind_of([&] { ExecSession(client, name, command({"true"}), {}); }) == ErrorKind::BadRequest);
  CHECK(lxe::test::error_kind_of([&] { ExecSession(client, test_name("xnone"), command({"true"}), {}); }) == ErrorKind::NotFound);
}
