// lxe-init, run directly on the host (not as PID 1): the CRI log it writes, the exit records, stop
// signals, log reopening, attaching (stdin, tty, output), and its pause and exec modes.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "common/attach_protocol.h"
#include "reconcile/workload_stop.h"
#include "support/process.h"
#include "support/init_spec.h"
#include "support/temp_dir.h"

extern char** environ;

using lxe::test::CommandResult;
using lxe::test::read_file;
using lxe::test::run_command;
using lxe::test::TempDir;
using lxe::test::write_file;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// lxe-init is built next to lxe (all executables go to build/bin).
std::string init_binary() {
  const auto path = std::filesystem::path(LXE_BINARY).parent_path() / "lxe-init";
  if (!std::filesystem::exists(path)) FAIL("lxe-init not built at " << path << ": ninja lxe-init");
  return path.string();
}

struct Record {
  std::string timestamp;
  std::string stream;
  std::string tag;
  std::string content;
};

// True for 2026-11-22T10:11:12.123456789Z within an hour of now.
bool recent_rfc3339_nano(const std::string& ts) {
  std::tm tm{};
  int fraction_digits = 0;
  if (ts.size() != 30 || ts.back() != 'Z') return false;
  if (std::sscanf(ts.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%*9[0-9]%nZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &fraction_digits) != 6 ||
      fraction_digits != 29)
    return false;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t t = timegm(&tm);
  return std::abs(std::difftime(t, std::time(nullptr))) < 3600;
}

// The CRI log records in `text`; fails the test on a line not in the format.
std::vector<Record> parse_log(const std::string& text) {
  std::vector<Record> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    INFO("log line: " << line.substr(0, 200));
    const size_t a = line.find(' ');
    const size_t b = a == std::string::npos ? a : line.find(' ', a + 1);
    const size_t c = b == std::string::npos ? b : line.find(' ', b + 1);
    REQUIRE(c != std::string::npos);
    Record r{line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1, c - b - 1),
             line.substr(c + 1)};
    CHECK(recent_rfc3339_nano(r.timestamp));
    CHECK((r.stream == "stdout" || r.stream == "stderr"));
    CHECK((r.tag == "F" || r.tag == "P"));
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::string> contents(const std::vector<Record>& records, const std::string& stream) {
  std::vector<std::string> out;
  for (const auto& r : records)
    if (r.stream == stream) out.push_back(r.content);
  return out;
}

std::string read_if_exists(const std::string& path) {
  return std::filesystem::exists(path) ? read_file(path) : "";
}

// A spec in `dir` with the log and records there too (support/init_spec.h).
std::string write_spec(const TempDir& dir, const std::vector<std::string>& args,
                       const json& extra = json::object()) {
  return lxe::test::write_init_spec(dir, args, extra);
}

CommandResult run_spec(const TempDir& dir, const std::vector<std::string>& args,
                       json extra = json::object()) {
  return run_command({init_binary(), "run", write_spec(dir, args, std::move(extra))});
}

json exit_record(const TempDir& dir) { return json::parse(read_file(dir.file("exit.json"))); }

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// lxe-init running in the background, for tests that signal it; killed if the test leaves early.
class Background {
 public:
  Background(const TempDir& dir, const std::vector<std::string>& argv) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, dir.file("init.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&actions, 2, dir.file("init.err").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
  }
  ~Background() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  pid_t pid() const { return pid_; }

  // The exit code, or -1 when it did not exit by itself within `timeout`.
  int wait(std::chrono::milliseconds timeout = 10s) {
    int status = 0;
    const bool exited = wait_until([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
    if (!exited) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
};

// True once `pid` blocks `signal`: lxe-init blocks its signals first thing, so from then on a
// signal is handled and no longer kills it by its default action.
bool blocks_signal(pid_t pid, int signal) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("SigBlk:", 0) == 0) return (std::stoull(line.substr(7), nullptr, 16) >> (signal - 1)) & 1;
  return false;
}

bool log_contains(const TempDir& dir, const std::string& text, const std::string& name = "container.log") {
  return read_if_exists(dir.file(name)).find(text) != std::string::npos;
}

// A client of lxe-init's attach socket, as lxe is one (common/attach_protocol.h).
class AttachClient {
 public:
  // Connects (waiting up to 10 s for lxe-init to listen) and sends Hello with `flags`.
  AttachClient(const std::string& path, uint8_t flags) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof address.sun_path);
    std::strcpy(address.sun_path, path.c_str());
    const bool connected = wait_until([&] {
      fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return true;
      ::close(fd_);
      fd_ = -1;
      return false;
    });
    REQUIRE(connected);
    send(lxe::attach::encode_hello(flags));
  }
  ~AttachClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  AttachClient(const AttachClient&) = delete;
  AttachClient& operator=(const AttachClient&) = delete;

  void send(const std::string& frames) {
    REQUIRE(::send(fd_, frames.data(), frames.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(frames.size()));
  }
  void type(const std::string& text) { send(lxe::attach::encode(lxe::attach::FrameType::Stdin, text)); }
  void end_stdin() { send(lxe::attach::encode(lxe::attach::FrameType::StdinEnd)); }
  void resize(uint16_t width, uint16_t height) { send(lxe::attach::encode_resize({width, height})); }

  // Reads what lxe-init sends until `done` holds or `timeout` passes.
  bool read_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (eof || std::chrono::steady_clock::now() >= deadline) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buffer[65536];
      const ssize_t n = ::read(fd_, buffer, sizeof buffer);
      if (n <= 0) {
        eof = true;
        continue;
      }
      decoder_.feed(std::string_view(buffer, static_cast<size_t>(n)));
      while (auto frame = decoder_.next()) {
        if (frame->type == lxe::attach::FrameType::Stdout) out += frame->payload;
        if (frame->type == lxe::attach::FrameType::Stderr) err += frame->payload;
        if (frame->type == lxe::attach::FrameType::Exit) exit_code = lxe::attach::parse_exit(frame->payload);
        if (frame->type == lxe::attach::FrameType::Stopping) stopping = true;
      }
    }
    return true;
  }
  bool read_until_out(const std::string& text) {
    return read_until([&] { return out.find(text) != std::string::npos; });
  }
  bool read_until_eof(std::chrono::milliseconds timeout = 10s) {
    return read_until([&] { return eof; }, timeout) || eof;
  }

  std::string out;
  std::string err;
  std::optional<int> exit_code;
  bool stopping = false;  // lxe-init answered a Stop
  bool eof = false;

 private:
  int fd_ = -1;
  lxe::attach::Decoder decoder_;
};

constexpr uint8_t kAllStreams = lxe::attach::kWantStdin | lxe::attach::kWantStdout | lxe::attach::kWantStderr;

// A spec whose workload can be attached to at <dir>/attach.sock.
std::string write_attach_spec(const TempDir& dir, const std::vector<std::string>& args, json extra = json::object()) {
  extra["attach_socket"] = dir.file("attach.sock");
  return write_spec(dir, args, std::move(extra));
}

}  // namespace

TEST_CASE("init run: stdout and stderr lines become CRI log records", "[init]") {
  TempDir dir;
  const auto r = run_spec(dir, {"sh", "-c", "echo out1; echo err1 >&2; echo; printf 'no newline'"});
  REQUIRE(r.exit_code == 0);
  const auto records = parse_log(read_file(dir.file("container.log")));
  CHECK(contents(records, "stdout") == std::vector<std::string>{"out1", "", "no newline"});
  CHECK(contents(records, "stderr") == std::vector<std::string>{"err1"});
  for (const auto& rec : records) CHECK(rec.tag == "F");
}

TEST_CASE("init run: a 40 KiB line is split into P, P, F records", "[init]") {
  TempDir dir;
  const auto r = run_spec(dir, {"sh", "-c", "head -c 40960 /dev/zero | tr '\\0' x; echo; echo next"});
  REQUIRE(r.exit_code == 0);
  const auto records = parse_log(read_file(dir.file("container.log")));
  REQUIRE(records.size() == 4);
  CHECK(records[0].tag == "P");
  CHECK(records[0].content == std::string(16384, 'x'));
  CHECK(records[1].tag == "P");
  CHECK(records[1].content == std::string(16384, 'x'));
  CHECK(records[2].tag == "F");
  CHECK(records[2].content == std::string(40960 - 2 * 16384, 'x'));
  CHECK(records[3].tag == "F");
  CHECK(records[3].content == "next");
}

TEST_CASE("init run: the exit code is recorded and is lxe-init's own", "[init]") {
  TempDir dir;
  const auto r = run_spec(dir, {"sh", "-c", "exit 3"});
  CHECK(r.exit_code == 3);
  const json record = exit_record(dir);
  CHECK(record["exit_code"] == 3);
  CHECK(record["signal"] == 0);
  CHECK(record["started_at"].get<int64_t>() > 0);
  CHECK(record["finished_at"].get<int64_t>() >= record["started_at"].get<int64_t>());
  const json started = json::parse(read_file(dir.file("started.json")));
  CHECK(started["started_at"] == record["started_at"]);
  CHECK(started["pid"].get<int>() > 0);
  CHECK_FALSE(std::filesystem::exists(dir.file("exit.json.tmp")));
}

TEST_CASE("init run: env, cwd, uid/gid and PATH lookup come from the spec", "[init]") {
  TempDir dir;
  std::filesystem::create_directory(dir.file("bin"));
  write_file(dir.file("bin/hello"), "#!/bin/sh\necho hello from $FOO in $(pwd) as $(id -u):$(id -g)\n");
  std::filesystem::permissions(dir.file("bin/hello"), std::filesystem::perms::owner_all);
  const auto r = run_spec(dir, {"hello"},
                          {{"env", {"PATH=" + dir.file("bin") + ":/usr/bin:/bin", "FOO=bar"}},
                           {"cwd", dir.file("bin")},
                           {"uid", getuid()},
                           {"gid", getgid()}});
  REQUIRE(r.exit_code == 0);
  const auto records = parse_log(read_file(dir.file("container.log")));
  CHECK(contents(records, "stdout") ==
        std::vector<std::string>{"hello from bar in " + dir.file("bin") + " as " + std::to_string(getuid()) +
                                 ":" + std::to_string(getgid())});
}

TEST_CASE("init run: a missing command exits 127 with the reason in the log", "[init]") {
  TempDir dir;
  const auto r = run_spec(dir, {"no-such-command-lxe"});
  CHECK(r.exit_code == 127);
  CHECK(exit_record(dir)["exit_code"] == 127);
  const auto records = parse_log(read_file(dir.file("container.log")));
  CHECK(contents(records, "stderr") ==
        std::vector<std::string>{"lxe-init: cannot run no-such-command-lxe: No such file or directory"});
}

TEST_CASE("init run: a missing working directory exits 128 with the reason in the log", "[init]") {
  TempDir dir;
  const auto r = run_spec(dir, {"true"}, {{"cwd", dir.file("nowhere")}});
  CHECK(r.exit_code == 128);
  CHECK_THAT(read_file(dir.file("container.log")), Catch::Contains("cannot change to directory"));
}

TEST_CASE("init run: an empty log_path discards the output", "[init]") {
  TempDir dir;
  const auto r = run_spec(dir, {"sh", "-c", "echo lost; exit 4"}, {{"log_path", ""}});
  CHECK(r.exit_code == 4);
  CHECK(exit_record(dir)["exit_code"] == 4);
  CHECK_FALSE(std::filesystem::exists(dir.file("container.log")));
}

TEST_CASE("init run: a background process holding the output does not keep lxe-init alive", "[init]") {
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  // The orphaned sleep keeps stdout open; lxe-init stops collecting output about 1 s after the
  // main process exits.
  const auto r = run_spec(dir, {"sh", "-c", "sleep 8 & echo main done"});
  CHECK(r.exit_code == 0);
  CHECK(std::chrono::steady_clock::now() - start < 6s);
  CHECK(contents(parse_log(read_file(dir.file("container.log"))), "stdout") ==
        std::vector<std::string>{"main done"});
}

TEST_CASE("init run: SIGTERM stops the workload with its stop signal", "[init]") {
  TempDir dir;
  SECTION("default SIGTERM: killed, 143") {
    Background init(dir, {init_binary(), "run", write_spec(dir, {"sh", "-c", "echo ready; exec sleep 30"})});
    REQUIRE(wait_until([&] { return log_contains(dir, "ready"); }));
    kill(init.pid(), SIGTERM);
    CHECK(init.wait() == 143);
    CHECK(exit_record(dir)["exit_code"] == 143);
    CHECK(exit_record(dir)["signal"] == SIGTERM);
  }
  SECTION("a workload that traps the signal exits its own way") {
    Background init(
        dir, {init_binary(), "run",
              write_spec(dir, {"sh", "-c",
                               "trap 'echo bye; exit 7' TERM; echo ready; while :; do sleep 0.1; done"})});
    REQUIRE(wait_until([&] { return log_contains(dir, "ready"); }));
    kill(init.pid(), SIGTERM);
    CHECK(init.wait() == 7);
    CHECK(exit_record(dir)["exit_code"] == 7);
    CHECK(log_contains(dir, "stdout F bye"));
  }
  SECTION("stop_signal from the spec, on SIGPWR as LXC sends it") {
    Background init(dir,
                    {init_binary(), "run",
                     write_spec(dir, {"sh", "-c", "echo ready; exec sleep 30"}, {{"stop_signal", SIGKILL}})});
    REQUIRE(wait_until([&] { return log_contains(dir, "ready"); }));
    kill(init.pid(), SIGPWR);
    CHECK(init.wait() == 128 + SIGKILL);
    CHECK(exit_record(dir)["signal"] == SIGKILL);
  }
}

TEST_CASE("init run: SIGUSR1 reopens the log after kubelet renamed it", "[init]") {
  TempDir dir;
  const std::string go = dir.file("go");
  Background init(
      dir,
      {init_binary(), "run",
       write_spec(dir, {"sh", "-c", "echo one; while [ ! -e " + go + " ]; do sleep 0.02; done; echo two"})});
  REQUIRE(wait_until([&] { return log_contains(dir, "one"); }));
  std::filesystem::rename(dir.file("container.log"), dir.file("container.log.1"));
  kill(init.pid(), SIGUSR1);
  REQUIRE(wait_until([&] { return std::filesystem::exists(dir.file("container.log")); }));
  write_file(go, "");
  CHECK(init.wait() == 0);
  CHECK(contents(parse_log(read_file(dir.file("container.log.1"))), "stdout") ==
        std::vector<std::string>{"one"});
  CHECK(contents(parse_log(read_file(dir.file("container.log"))), "stdout") ==
        std::vector<std::string>{"two"});
}

TEST_CASE("init run: a bad spec exits 2", "[init]") {
  TempDir dir;
  SECTION("not JSON") {
    write_file(dir.file("spec.json"), "{\"args\": [");
    const auto r = run_command({init_binary(), "run", dir.file("spec.json")});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::StartsWith("lxe-init: "));
  }
  SECTION("no args, but an exit_path to report it") {
    write_file(dir.file("spec.json"), json{{"exit_path", dir.file("exit.json")}}.dump());
    const auto r = run_command({init_binary(), "run", dir.file("spec.json")});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("args"));
    CHECK(exit_record(dir)["exit_code"] == 2);
  }
  SECTION("a field of the wrong type") {
    const auto r = run_spec(dir, {"true"}, {{"uid", "root"}});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("uid"));
    CHECK(exit_record(dir)["exit_code"] == 2);
  }
  SECTION("no such spec file") {
    const auto r = run_command({init_binary(), "run", dir.file("missing.json")});
    CHECK(r.exit_code == 2);
  }
}

TEST_CASE("init pause: sleeps until SIGTERM, then exits 0", "[init]") {
  TempDir dir;
  Background init(dir, {init_binary(), "pause"});
  REQUIRE(wait_until([&] { return blocks_signal(init.pid(), SIGTERM); }));
  CHECK(init.wait(200ms) == -1);  // still sleeping
  kill(init.pid(), SIGTERM);
  CHECK(init.wait() == 0);
}

TEST_CASE("init exec: exit code, missing command, timeout", "[init]") {
  SECTION("the command's exit code passes through") {
    const auto r =
        run_command({init_binary(), "exec", "--timeout", "10", "--", "sh", "-c", "echo hi; exit 5"});
    CHECK(r.exit_code == 5);
    CHECK(r.out == "hi\n");
  }
  SECTION("killed by a signal: 128 + signal") {
    const auto r = run_command({init_binary(), "exec", "--timeout", "0", "--", "sh", "-c", "kill -9 $$"});
    CHECK(r.exit_code == 137);
  }
  SECTION("a missing command is 127") {
    const auto r = run_command({init_binary(), "exec", "--timeout", "0", "--", "no-such-command-lxe"});
    CHECK(r.exit_code == 127);
    CHECK_THAT(r.err, Catch::Contains("cannot run no-such-command-lxe"));
  }
  SECTION("the timeout kills the command and exits 124") {
    const auto r =
        run_command({init_binary(), "exec", "--timeout", "1", "--", "sh", "-c", "sleep 30; echo late"});
    CHECK(r.exit_code == 124);
    CHECK(r.err == "lxe-init: exec timed out after 1 s\n");
    CHECK(r.out.empty());
  }
  SECTION("bad usage is 2") {
    CHECK(run_command({init_binary(), "exec", "sh"}).exit_code == 2);
    CHECK(run_command({init_binary(), "exec", "--timeout", "1", "--spec", "--", "sh"}).exit_code == 2);
    CHECK(run_command({init_binary(), "exec", "--spec", "/x", "--", "sh"}).exit_code == 2);  // no timeout
    CHECK(run_command({init_binary(), "exec", "--timeout", "1", "--bogus", "1", "--", "sh"}).exit_code == 2);
  }
}

TEST_CASE("init exec --spec: the container's env, cwd, uid/gid and PATH, not the caller's", "[init]") {
  TempDir dir;
  std::filesystem::create_directory(dir.file("bin"));
  write_file(dir.file("bin/whoami-lxe"), "#!/bin/sh\necho \"$FOO $(pwd) $(id -u):$(id -g) ${HOME:-nohome}\"\n");
  std::filesystem::permissions(dir.file("bin/whoami-lxe"), std::filesystem::perms::owner_all);
  const std::string spec = write_spec(dir, {"sleep", "1"},
                                      {{"env", {"PATH=" + dir.file("bin") + ":/usr/bin:/bin", "FOO=from-spec"}},
                                       {"cwd", dir.file("bin")},
                                       {"uid", getuid()},
                                       {"gid", getgid()}});
  const std::string expected = "from-spec " + dir.file("bin") + " " + std::to_string(getuid()) + ":" +
                               std::to_string(getgid()) + " nohome\n";
  SECTION("options in either order") {
    CHECK(run_command({init_binary(), "exec", "--timeout", "5", "--spec", spec, "--", "whoami-lxe"}).out == expected);
    CHECK(run_command({init_binary(), "exec", "--spec=" + spec, "--timeout=5", "--", "whoami-lxe"}).out == expected);
  }
  SECTION("without --spec, our own environment and directory (a system container's exec)") {
    const auto r = run_command({init_binary(), "exec", "--timeout", "5", "--", "sh", "-c", "echo ${FOO:-unset}"});
    CHECK(r.out == "unset\n");
  }
  SECTION("a missing command is still 127, looked up in the spec's PATH") {
    const auto r = run_command({init_binary(), "exec", "--timeout", "5", "--spec", spec, "--", "no-such-command-lxe"});
    CHECK(r.exit_code == 127);
    CHECK_THAT(r.err, Catch::Contains("cannot run no-such-command-lxe"));
  }
  SECTION("an unreadable spec or directory is 126 with the reason") {
    const auto missing =
        run_command({init_binary(), "exec", "--timeout", "5", "--spec", dir.file("nope.json"), "--", "true"});
    CHECK(missing.exit_code == 126);
    CHECK_THAT(missing.err, Catch::Contains("nope.json"));
    const std::string gone = write_spec(dir, {"true"}, {{"cwd", dir.file("no-such-dir")}});
    const auto r = run_command({init_binary(), "exec", "--timeout", "5", "--spec", gone, "--", "true"});
    CHECK(r.exit_code == 126);
    CHECK_THAT(r.err, Catch::Contains("cannot change to directory " + dir.file("no-such-dir")));
  }
}

TEST_CASE("init run: attach with stdin_once: typed input runs, its end closes stdin, the log has it too",
          "[init][attach]") {
  TempDir dir;
  Background init(dir, {init_binary(), "run", write_attach_spec(dir, {"sh"}, {{"stdin", true}, {"stdin_once", true}})});
  AttachClient client(dir.file("attach.sock"), kAllStreams);
  client.type("echo hello; echo oops >&2\n");
  CHECK(client.read_until([&] { return client.out == "hello\n" && client.err == "oops\n"; }));
  // The shell reads EOF and exits; the client stays attached until then and learns the exit code.
  client.end_stdin();
  CHECK(client.read_until_eof());
  CHECK(client.exit_code == 0);
  CHECK(client.out == "hello\n");
  CHECK(init.wait() == 0);
  const auto records = parse_log(read_file(dir.file("container.log")));
  CHECK(contents(records, "stdout") == std::vector<std::string>{"hello"});
  CHECK(contents(records, "stderr") == std::vector<std::string>{"oops"});
  CHECK_FALSE(std::filesystem::exists(dir.file("attach.sock")));  // removed at exit
}

TEST_CASE("init run: attach without stdin_once: a client's stdin end ends only its own session", "[init][attach]") {
  TempDir dir;
  Background init(dir, {init_binary(), "run", write_attach_spec(dir, {"sh"}, {{"stdin", true}})});
  {
    AttachClient first(dir.file("attach.sock"), kAllStreams);
    first.type("echo one\n");
    CHECK(first.read_until_out("one\n"));
    first.end_stdin();
    CHECK(first.read_until_eof());
    CHECK_FALSE(first.exit_code);  // detached, not exited
  }
  CHECK(init.wait(300ms) == -1);  // the shell still reads its stdin
  AttachClient second(dir.file("attach.sock"), kAllStreams);
  second.type("echo two; exit 5\n");
  CHECK(second.read_until_eof());
  CHECK(second.out == "two\n");
  CHECK(second.exit_code == 5);
  CHECK(init.wait() == 5);
}

TEST_CASE("init run: attach to a tty: resizes reach the terminal, output is one stream, the log drops the CR",
          "[init][attach]") {
  TempDir dir;
  Background init(dir, {init_binary(), "run",
                        write_attach_spec(dir, {"sh"}, {{"stdin", true}, {"stdin_once", true}, {"tty", true}})});
  AttachClient client(dir.file("attach.sock"), lxe::attach::kWantStdin | lxe::attach::kWantStdout);
  client.resize(100, 30);
  client.type("stty size; tty; echo to-err >&2\n");
  CHECK(client.read_until_out("30 100\r\n"));
  CHECK(client.read_until_out("to-err\r\n"));  // stderr is the terminal too
  CHECK_THAT(client.out, Catch::Contains("/dev/pts/"));
  client.resize(132, 43);
  client.type("stty size\n");
  CHECK(client.read_until_out("43 132\r\n"));
  // With a tty the stdin stays open when a client's stdin ends (containerd): the client detaches.
  client.end_stdin();
  CHECK(client.read_until_eof());
  CHECK_FALSE(client.exit_code);
  AttachClient again(dir.file("attach.sock"), lxe::attach::kWantStdin | lxe::attach::kWantStdout);
  again.type("exit 4\n");
  CHECK(again.read_until_eof());
  CHECK(again.exit_code == 4);
  CHECK(init.wait() == 4);
  const std::string log = read_file(dir.file("container.log"));
  CHECK(log.find('\r') == std::string::npos);
  const auto records = parse_log(log);
  CHECK(contents(records, "stderr").empty());
  const auto out = contents(records, "stdout");
  // A line of its own, after the prompt when the shell printed that only after the input was
  // echoed (the client types before the shell is ready): "# 30 100".
  const auto has_line_ending = [&](const std::string& text) {
    return std::any_of(out.begin(), out.end(), [&](const std::string& line) {
      return line.size() >= text.size() && line.compare(line.size() - text.size(), text.size(), text) == 0;
    });
  };
  CHECK(has_line_ending("30 100"));
  CHECK(has_line_ending("to-err"));
}

TEST_CASE("init run: output-only attach: each client gets the streams it asked for, from when it attached",
          "[init][attach]") {
  TempDir dir;
  // A socket an earlier, killed run left behind is replaced.
  lxe::test::make_dead_socket(dir.file("attach.sock"));
  const std::string go = dir.file("go");
  Background init(
      dir, {init_binary(), "run",
            write_attach_spec(dir, {"sh", "-c",
                                    "echo early; while [ ! -e " + go + " ]; do sleep 0.02; done; echo one; echo two >&2"})});
  REQUIRE(wait_until([&] { return log_contains(dir, "early"); }));
  AttachClient out_only(dir.file("attach.sock"), lxe::attach::kWantStdout);
  AttachClient both(dir.file("attach.sock"), lxe::attach::kWantStdout | lxe::attach::kWantStderr);
  // stdin asked of a container without stdin: not read, and its end changes nothing.
  AttachClient with_stdin(dir.file("attach.sock"), kAllStreams);
  with_stdin.end_stdin();
  std::this_thread::sleep_for(100ms);  // lxe-init has taken all three Hellos
  write_file(go, "");
  for (AttachClient* client : {&out_only, &both, &with_stdin}) CHECK(client->read_until_eof());
  CHECK(out_only.out == "one\n");
  CHECK(out_only.err.empty());
  CHECK(both.out == "one\n");
  CHECK(both.err == "two\n");
  CHECK(with_stdin.out == "one\n");
  for (AttachClient* client : {&out_only, &both, &with_stdin}) CHECK(client->exit_code == 0);
  CHECK(init.wait() == 0);
}

TEST_CASE("init run: a client that does not read is disconnected; the log loses nothing", "[init][attach]") {
  TempDir dir;
  const std::string go = dir.file("go");
  Background init(dir, {init_binary(), "run",
                        write_attach_spec(dir, {"sh", "-c",
                                                "while [ ! -e " + go +
                                                    " ]; do sleep 0.02; done; i=0; while [ $i -lt 40 ]; do "
                                                    "head -c 102399 /dev/zero | tr '\\0' x; echo; i=$((i+1)); done"})});
  AttachClient idle(dir.file("attach.sock"), lxe::attach::kWantStdout);
  std::this_thread::sleep_for(100ms);
  write_file(go, "");
  CHECK(init.wait() == 0);
  const auto records = parse_log(read_file(dir.file("container.log")));
  size_t bytes = 0;
  for (const auto& r : records) bytes += r.content.size();
  CHECK(bytes == 40 * 102399);
  CHECK(idle.read_until_eof());
  CHECK(idle.out.size() < 40 * 102400);
  CHECK_FALSE(idle.exit_code);
  CHECK_THAT(read_file(dir.file("init.err")), Catch::Contains("reads too slowly"));
}

TEST_CASE("init run: no attach_socket, no socket; attach fields of the wrong type are refused", "[init][attach]") {
  TempDir dir;
  SECTION("no socket") {
    const auto r = run_spec(dir, {"sh", "-c", "ls " + dir.path()});
    CHECK(r.exit_code == 0);
    CHECK_FALSE(log_contains(dir, "attach.sock"));
  }
  SECTION("stdin must be a boolean") {
    const auto r = run_spec(dir, {"true"}, {{"stdin", "yes"}});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("stdin"));
  }
  SECTION("with stdin but nobody attached, stdin stays open; a stop signal still stops it") {
    Background init(dir, {init_binary(), "run", write_attach_spec(dir, {"sh", "-c", "echo ready; read line; echo read"},
                                                                  {{"stdin", true}})});
    REQUIRE(wait_until([&] { return log_contains(dir, "ready"); }));
    CHECK(init.wait(300ms) == -1);
    kill(init.pid(), SIGTERM);
    CHECK(init.wait() == 143);
    CHECK_FALSE(log_contains(dir, "stdout F read\n"));
  }
}

// ---- Stop over the attach socket (lxe's StopContainer, reconcile/workload_stop.h)

TEST_CASE("init run: Stop sends the stop signal, answers at once, and Exit comes after the exit record",
          "[init][stop]") {
  TempDir dir;
  Background init(dir, {init_binary(), "run",
                        write_attach_spec(dir, {"sh", "-c",
                                                "trap 'echo bye; exit 7' TERM; echo ready; while :; do sleep 0.1; done"})});
  REQUIRE(wait_until([&] { return log_contains(dir, "ready"); }));
  AttachClient client(dir.file("attach.sock"), 0);
  client.send(lxe::attach::encode_stop(30));
  REQUIRE(client.read_until([&] { return client.exit_code.has_value(); }));
  CHECK(client.stopping);
  CHECK(*client.exit_code == 7);
  // The record is on disk before Exit is sent: lxe reads it right after.
  CHECK(exit_record(dir)["exit_code"] == 7);
  CHECK(log_contains(dir, "stdout F bye"));
  CHECK(client.read_until_eof());
  CHECK(init.wait() == 7);
}

TEST_CASE("init run: Stop kills a workload that ignores its stop signal when the grace period is over, and 0 at once",
          "[init][stop]") {
  TempDir dir;
  const std::string grace = GENERATE("1", "0");
  INFO("grace " << grace);
  Background init(dir, {init_binary(), "run",
                        write_attach_spec(dir, {"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"})});
  REQUIRE(wait_until([&] { return log_contains(dir, "ready"); }));
  AttachClient client(dir.file("attach.sock"), 0);
  client.send(lxe::attach::encode_stop(static_cast<uint32_t>(std::stoul(grace))));
  REQUIRE(client.read_until([&] { return client.exit_code.has_value(); }));
  CHECK(*client.exit_code == 137);
  CHECK(exit_record(dir)["signal"] == SIGKILL);
  // Killed by the stop, not by the kernel's OOM killer.
  CHECK(exit_record(dir)["oom_killed"] == false);
  CHECK(init.wait() == 137);
}

TEST_CASE("init run: after a Stop nothing of the container is left: the workload's other processes are killed too",
          "[init][stop]") {
  TempDir dir;
  Background init(dir, {init_binary(), "run",
                        write_attach_spec(dir, {"sh", "-c",
                                                "sleep 300 & echo $! > " + dir.file("bg.pid") +
                                                    "; echo ready; exec sleep 300"})});
  REQUIRE(wait_until([&] { return log_contains(dir, "ready"); }));
  const pid_t background = std::stoi(read_file(dir.file("bg.pid")));
  REQUIRE(::kill(background, 0) == 0);
  AttachClient client(dir.file("attach.sock"), 0);
  client.send(lxe::attach::encode_stop(10));
  REQUIRE(client.read_until([&] { return client.exit_code.has_value(); }));
  CHECK(*client.exit_code == 143);
  // Gone (and reaped by lxe-init, its subreaper here) by the time Exit came.
  CHECK_FALSE(std::filesystem::exists("/proc/" + std::to_string(background)));
  CHECK(init.wait() == 143);
}

TEST_CASE("workload_stop: Stopped with the exit code and lxe-init's PID, and each way it can fail", "[init][stop]") {
  using lxe::reconcile::stop_workload;
  using Result = lxe::reconcile::WorkloadStop::Result;
  TempDir dir;
  SECTION("a running lxe-init stops the workload") {
    Background init(dir, {init_binary(), "run", write_attach_spec(dir, {"sleep", "300"})});
    REQUIRE(wait_until([&] { return std::filesystem::exists(dir.file("attach.sock")); }));
    const auto stop = stop_workload(dir.file("attach.sock"), 10);
    CHECK(stop.result == Result::Stopped);
    CHECK(stop.exit_code == 143);
    CHECK(stop.init_pid == init.pid());
    CHECK(exit_record(dir)["exit_code"] == 143);
    CHECK(init.wait() == 143);
  }
  SECTION("no socket: unreachable") {
    const auto stop = stop_workload(dir.file("attach.sock"), 10);
    CHECK(stop.result == Result::Unreachable);
    CHECK_THAT(stop.detail, Catch::Contains("no attach socket"));
  }
  SECTION("a listener that never answers Stop (an lxe-init from before Stop): unsupported, after the answer wait") {
    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, dir.file("attach.sock").c_str());
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener, 4) == 0);
    const auto stop = stop_workload(dir.file("attach.sock"), 10, {.answer = 200ms, .slack = 1000ms});
    CHECK(stop.result == Result::Unsupported);
    CHECK_THAT(stop.detail, Catch::Contains("did not take the Stop"));
    ::close(listener);
  }
}

TEST_CASE("init run: a Stop whose payload is not a grace period is ignored; the connection stays usable",
          "[init][stop]") {
  TempDir dir;
  Background init(dir, {init_binary(), "run", write_attach_spec(dir, {"sh", "-c", "echo ready; exec sleep 300"})});
  REQUIRE(wait_until([&] { return log_contains(dir, "ready"); }));
  AttachClient client(dir.file("attach.sock"), 0);
  client.send(lxe::attach::encode(lxe::attach::FrameType::Stop, "xx"));
  CHECK_FALSE(client.read_until([&] { return client.stopping || client.exit_code.has_value(); }, 300ms));
  CHECK(::kill(init.pid(), 0) == 0);  // the workload still runs
  client.send(lxe::attach::encode_stop(0));
  REQUIRE(client.read_until([&] { return client.exit_code.has_value(); }));
  CHECK(client.stopping);
  CHECK(*client.exit_code == 137);
  CHECK(init.wait() == 137);
}
