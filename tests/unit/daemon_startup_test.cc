// The lxe binary's start-up refusals: each is one clear line on stderr and a non-zero exit.
// These need no LXD: they stop before talking to it, or point lxe at a socket nobody answers.
#include <SQLiteCpp/SQLiteCpp.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <csignal>

#include "store/migrations.h"
#include "store/store.h"
#include "support/process.h"
#include "support/temp_dir.h"

using lxe::test::CommandResult;
using lxe::test::non_empty_lines;
using lxe::test::run_command;
using lxe::test::TempDir;

namespace {

// One line, starting "lxe: error:", mentioning `needle`.
void check_one_error_line(const CommandResult& r, const std::string& needle) {
  INFO("stderr: " << r.err);
  const auto lines = non_empty_lines(r.err);
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], Catch::StartsWith("lxe: error: "));
  CHECK_THAT(lines[0], Catch::Contains(needle));
}

}  // namespace

TEST_CASE("lxe: --help and --version succeed", "[daemon]") {
  const auto help = run_command({LXE_BINARY, "--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("--lxd-socket"));
  CHECK_THAT(help.out, Catch::Contains("--lxd-remote-config"));
  const auto version = run_command({LXE_BINARY, "--version"});
  CHECK(version.exit_code == 0);
  CHECK_THAT(version.out, Catch::StartsWith("lxe "));
}

TEST_CASE("lxe: a bad flag is one error line and exit 2", "[daemon]") {
  const auto r = run_command({LXE_BINARY, "--no-such-flag"});
  CHECK(r.exit_code == 2);
  check_one_error_line(r, "unknown flag --no-such-flag");
  const auto level = run_command({LXE_BINARY, "--log-level", "chatty"});
  CHECK(level.exit_code == 2);
  check_one_error_line(level, "--log-level: 'chatty' is not one of trace, debug");
  for (const std::string bad : {"a/b", "-pool", "", "pool name"}) {
    const auto pool = run_command({LXE_BINARY, "--storage-pool", bad});
    CHECK(pool.exit_code == 2);
    check_one_error_line(pool, "--storage-pool");
  }
}

TEST_CASE("lxe: an LXD socket that does not exist is refused", "[daemon]") {
  TempDir dir;
  const auto r = run_command({LXE_BINARY, "--socket", dir.file("lxe.sock"), "--db", dir.file("lxe.db"),
                              "--lxd-socket", dir.file("no-lxd.sock")});
  CHECK(r.exit_code == 1);
  check_one_error_line(r, "LXD socket " + dir.file("no-lxd.sock") + " does not exist");
  CHECK_FALSE(std::filesystem::exists(dir.file("lxe.sock")));
}

TEST_CASE("lxe: an unreadable store path is refused", "[daemon]") {
  TempDir dir;
  lxe::test::make_dead_socket(dir.file("lxd.sock"));
  lxe::test::write_file(dir.file("file"), "x");
  const auto r = run_command({LXE_BINARY, "--socket", dir.file("lxe.sock"), "--db", dir.file("file/lxe.db"),
                              "--lxd-socket", dir.file("lxd.sock")});
  CHECK(r.exit_code == 1);
  check_one_error_line(r, dir.file("file"));
}

TEST_CASE("lxe: a store written by a newer lxe is refused and left alone", "[daemon]") {
  TempDir dir;
  lxe::test::make_dead_socket(dir.file("lxd.sock"));
  const int newer = lxe::store::latest_schema_version() + 1;
  {
    SQLite::Database db(dir.file("lxe.db"), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA user_version = " + std::to_string(newer));
  }
  const auto r = run_command({LXE_BINARY, "--socket", dir.file("lxe.sock"), "--db", dir.file("lxe.db"),
                              "--lxd-socket", dir.file("lxd.sock")});
  CHECK(r.exit_code == 1);
  check_one_error_line(r, "newer lxe");
  SQLite::Database db(dir.file("lxe.db"), SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("PRAGMA user_version").getInt() == newer);
}

TEST_CASE("lxe: a stored record that cannot be read is one error line naming it, and exit 1", "[daemon]") {
  TempDir dir;
  lxe::test::make_dead_socket(dir.file("lxd.sock"));
  const std::string id(64, 'a');
  {
    lxe::store::Store created(dir.file("lxe.db"), lxe::store::Store::Mode::ReadWrite);  // schema in place
  }
  {
    SQLite::Database db(dir.file("lxe.db"), SQLite::OPEN_READWRITE);
    db.exec("INSERT INTO pod_sandboxes (id, name, namespace, uid, attempt, lxd_name, labels_json, config_json, "
            "created_at, desired_state, updated_at) VALUES ('" + id +
            "', 'web', 'default', 'u1', 0, 'lxe-web-aaaaaaaaaaaa', 'not json', '{}', 1, 'ready', 1)");
  }
  const auto r = run_command({LXE_BINARY, "--socket", dir.file("lxe.sock"), "--db", dir.file("lxe.db"),
                              "--lxd-socket", dir.file("lxd.sock")});
  CHECK(r.exit_code == 1);
  check_one_error_line(r, "pod sandbox " + id + ": store holds a malformed string map");
  // The record is left as it was, for the operator to mend.
  SQLite::Database db(dir.file("lxe.db"), SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("SELECT labels_json FROM pod_sandboxes").getString() == "not json");
}

TEST_CASE("lxe: a remote config whose default remote is not a unix socket is refused", "[daemon]") {
  TempDir dir;
  lxe::test::write_file(dir.file("config.yml"),
                        "default-remote: far\nremotes:\n  far:\n    addr: https://10.0.0.1:8443\n");
  const auto r = run_command({LXE_BINARY, "--socket", dir.file("lxe.sock"), "--db", dir.file("lxe.db"),
                              "--lxd-remote-config", dir.file("config.yml")});
  CHECK(r.exit_code == 1);
  check_one_error_line(r, "unix socket");
}

TEST_CASE("lxe: with no LXD answering, Status says RuntimeReady=false with the reason", "[daemon]") {
  TempDir dir;
  lxe::test::make_dead_socket(dir.file("lxd.sock"));
  lxe::test::DaemonProcess lxe(dir, {"--lxd-socket", dir.file("lxd.sock")});

  auto ctx = lxe::test::context_with_deadline();
  runtime::v1::StatusRequest request;
  request.set_verbose(true);
  runtime::v1::StatusResponse response;
  REQUIRE(lxe.runtime().Status(ctx.get(), request, &response).ok());
  bool saw_runtime = false, saw_network = false;
  for (const auto& c : response.status().conditions()) {
    if (c.type() == "RuntimeReady") {
      saw_runtime = true;
      CHECK_FALSE(c.status());
      CHECK(c.reason() == "LXDUnreachable");
      CHECK_THAT(c.message(), Catch::Contains(dir.file("lxd.sock")));
    }
    if (c.type() == "NetworkReady") saw_network = true;
  }
  CHECK(saw_runtime);
  CHECK(saw_network);
  CHECK(response.info().count("lxe") == 1);
}

TEST_CASE("lxe: a second lxe on the same socket is refused, the first keeps serving", "[daemon]") {
  TempDir dir;
  lxe::test::make_dead_socket(dir.file("lxd.sock"));
  lxe::test::DaemonProcess first(dir, {"--lxd-socket", dir.file("lxd.sock")});

  const auto second = run_command({LXE_BINARY, "--socket", first.socket(), "--db", dir.file("other.db"),
                                   "--lxd-socket", dir.file("lxd.sock")});
  CHECK(second.exit_code == 1);
  check_one_error_line(second, "another lxe (pid " + std::to_string(first.pid()) + ")");

  auto ctx = lxe::test::context_with_deadline();
  runtime::v1::VersionResponse version;
  CHECK(first.runtime().Version(ctx.get(), runtime::v1::VersionRequest(), &version).ok());
}

TEST_CASE("lxe: serves on a 0660 socket, replaces a stale one, and exits 0 on SIGTERM", "[daemon]") {
  TempDir dir;
  lxe::test::make_dead_socket(dir.file("lxd.sock"));
  lxe::test::make_dead_socket(dir.file("lxe.sock"));  // left by a crashed lxe
  lxe::test::DaemonProcess lxe(dir, {"--lxd-socket", dir.file("lxd.sock")});

  struct stat st {};
  REQUIRE(::stat(lxe.socket().c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0660);

  CHECK(lxe.stop(SIGTERM) == 0);
  CHECK_FALSE(std::filesystem::exists(dir.file("lxe.sock")));
}

TEST_CASE("lxe: RPCs not implemented yet say which RPC", "[daemon]") {
  TempDir dir;
  lxe::test::make_dead_socket(dir.file("lxd.sock"));
  lxe::test::DaemonProcess lxe(dir, {"--lxd-socket", dir.file("lxd.sock")});
  auto ctx = lxe::test::context_with_deadline();
  runtime::v1::CheckpointContainerResponse response;
  const auto status = lxe.runtime().CheckpointContainer(ctx.get(), runtime::v1::CheckpointContainerRequest(), &response);
  CHECK(status.error_code() == grpc::StatusCode::UNIMPLEMENTED);
  CHECK_THAT(status.error_message(), Catch::Contains("/runtime.v1.RuntimeService/CheckpointContainer"));
}
