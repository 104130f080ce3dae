// lxe-init's process security, run directly on the host as root (not as PID 1): capabilities (the
// bounding, permitted and effective sets, across the switch to another user), no_new_privs, the
// seccomp filter, supplementary groups and the identity it records in started.json, for the
// workload (run) and for execs (exec --spec) alike.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/process.h"
#include "support/init_spec.h"
#include "support/temp_dir.h"

using lxe::test::read_file;
using lxe::test::run_command;
using lxe::test::TempDir;
using lxe::test::write_file;
using nlohmann::json;

namespace {

std::string init_binary() {
  const auto path = std::filesystem::path(LXE_BINARY).parent_path() / "lxe-init";
  if (!std::filesystem::exists(path)) FAIL("lxe-init not built at " << path << ": ninja lxe-init");
  return path.string();
}

// Only root can give away capabilities, set groups and switch users.
bool root() {
  if (::geteuid() == 0) return true;
  WARN("not root: lxe-init's process security is not tested");
  return false;
}

// A spec in `dir` with the log and records there too (support/init_spec.h).
std::string write_spec(const TempDir& dir, const std::vector<std::string>& args,
                       const json& extra = json::object()) {
  return lxe::test::write_init_spec(dir, args, extra);
}

// The workload's stdout (the content of the log's stdout records, one per line) and exit code.
struct Run {
  int exit_code = -1;
  std::string out;
  std::string log;
};
Run run(const TempDir& dir, const std::string& script, const json& extra) {
  std::filesystem::remove(dir.file("container.log"));  // lxe-init appends to it
  const auto r = run_command({init_binary(), "run", write_spec(dir, {"sh", "-c", script}, extra)});
  Run out{r.exit_code, "", read_file(dir.file("container.log"))};
  std::istringstream lines(out.log);
  std::string line;
  while (std::getline(lines, line)) {
    // <time> stdout F <content>
    const size_t a = line.find(' '), b = line.find(' ', a + 1), c = line.find(' ', b + 1);
    if (line.compare(a + 1, b - a - 1, "stdout") == 0) out.out += line.substr(c + 1) + "\n";
  }
  return out;
}

// The same script through `lxe-init exec --spec`.
lxe::test::CommandResult exec(const TempDir& dir, const std::string& script, const json& extra) {
  const std::string spec = write_spec(dir, {"true"}, extra);
  return run_command({init_binary(), "exec", "--timeout", "10", "--spec", spec, "--", "sh", "-c", script});
}

// "CapBnd:\t0000000000003000" → the hex number.
std::string status_field(const std::string& status, const std::string& field) {
  const size_t at = status.find(field + ":");
  if (at == std::string::npos) return "";
  const size_t start = status.find_first_not_of(" \t", at + field.size() + 1);
  return status.substr(start, status.find('\n', start) - start);
}

constexpr const char* kStatus = "cat /proc/self/status";
const json kNetRawChown = {{"capabilities", {"CAP_CHOWN", "CAP_NET_RAW"}}};  // bits 0 and 13: 0x2001

}  // namespace

TEST_CASE("init security: capabilities become the bounding, permitted and effective sets of root", "[init][security]") {
  if (!root()) return;
  TempDir dir;
  const auto r = run(dir, kStatus, kNetRawChown);
  REQUIRE(r.exit_code == 0);
  CHECK(status_field(r.out, "CapBnd") == "0000000000002001");
  CHECK(status_field(r.out, "CapPrm") == "0000000000002001");
  CHECK(status_field(r.out, "CapEff") == "0000000000002001");
  CHECK(status_field(r.out, "CapInh") == "0000000000000000");
  CHECK(status_field(r.out, "CapAmb") == "0000000000000000");
  SECTION("none at all: CapBnd 0, as critest's drop ALL expects") {
    const auto none = run(dir, kStatus, {{"capabilities", json::array()}});
    CHECK(status_field(none.out, "CapBnd") == "0000000000000000");
    CHECK(status_field(none.out, "CapEff") == "0000000000000000");
  }
  SECTION("the same for an exec") {
    const auto e = exec(dir, kStatus, kNetRawChown);
    REQUIRE(e.exit_code == 0);
    CHECK(status_field(e.out, "CapBnd") == "0000000000002001");
    CHECK(status_field(e.out, "CapEff") == "0000000000002001");
  }
  SECTION("a spec without capabilities (an older lxe's) leaves lxe-init's own") {
    const auto own = run(dir, kStatus, json::object());
    CHECK(status_field(own.out, "CapBnd") != "0000000000002001");
    CHECK(status_field(own.out, "CapEff") != "0000000000000000");
  }
}

TEST_CASE("init security: another user keeps the bounding set, and no capability after exec", "[init][security]") {
  if (!root()) return;
  TempDir dir;
  json extra = kNetRawChown;
  extra["uid"] = 65534;
  extra["gid"] = 65534;
  const auto r = run(dir, std::string(kStatus) + "; id -u", extra);
  REQUIRE(r.exit_code == 0);
  CHECK(status_field(r.out, "CapBnd") == "0000000000002001");
  CHECK(status_field(r.out, "CapEff") == "0000000000000000");  // as with runc: no ambient set
  CHECK(r.out.find("\n65534\n") != std::string::npos);
}

TEST_CASE("init security: no_new_privs", "[init][security]") {
  if (!root()) return;
  TempDir dir;
  CHECK(status_field(run(dir, kStatus, {{"no_new_privs", true}}).out, "NoNewPrivs") == "1");
  CHECK(status_field(run(dir, kStatus, {{"no_new_privs", false}}).out, "NoNewPrivs") == "0");
  CHECK(status_field(exec(dir, kStatus, {{"no_new_privs", true}}).out, "NoNewPrivs") == "1");
}

TEST_CASE("init security: a seccomp profile is loaded before exec, for root and another user alike", "[init][security]") {
  if (!root()) return;
  TempDir dir;
  const std::string target = dir.file("target");
  write_file(target, "x");
  std::filesystem::permissions(target, std::filesystem::perms::all);
  const json block_chmod = {{"defaultAction", "SCMP_ACT_ALLOW"},
                            {"syscalls", {{{"names", {"chmod", "fchmodat"}}, {"action", "SCMP_ACT_ERRNO"}}}}};
  const std::string script = "grep Seccomp: /proc/self/status; chmod 600 " + target + " 2>&1 && echo changed";
  SECTION("root, no no_new_privs") {
    const auto r = run(dir, script, {{"seccomp", block_chmod}, {"capabilities", {"CAP_CHOWN"}}});
    CHECK(r.out.find("Seccomp:\t2") != std::string::npos);
    CHECK(r.out.find("Operation not permitted") != std::string::npos);
    CHECK(r.out.find("changed") == std::string::npos);
  }
  SECTION("another user without no_new_privs: loaded with the permitted set made effective for the moment") {
    // The user's own file, which it may chmod but for the filter.
    std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all | std::filesystem::perms::group_exec |
                                                 std::filesystem::perms::others_exec);
    REQUIRE(::chown(target.c_str(), 65534, 65534) == 0);
    const auto r = run(dir, script,
                       {{"seccomp", block_chmod}, {"capabilities", {"CAP_CHOWN"}}, {"uid", 65534}, {"gid", 65534}});
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("Operation not permitted") != std::string::npos);
  }
  SECTION("with no_new_privs") {
    const auto r = run(dir, script, {{"seccomp", block_chmod}, {"no_new_privs", true}, {"capabilities", json::array()}});
    CHECK(r.out.find("Operation not permitted") != std::string::npos);
  }
  SECTION("an exec") {
    const auto e = exec(dir, script, {{"seccomp", block_chmod}, {"capabilities", {"CAP_CHOWN"}}});
    CHECK(e.exit_code == 1);
    CHECK(e.out.find("Operation not permitted") != std::string::npos);
  }
  SECTION("without a profile, chmod works") {
    CHECK(run(dir, script, {{"capabilities", {"CAP_CHOWN", "CAP_FOWNER"}}}).out.find("changed") != std::string::npos);
  }
}

TEST_CASE("init security: supplementary groups, and the identity in started.json", "[init][security]") {
  if (!root()) return;
  TempDir dir;
  const json extra = {{"uid", 65534},
                      {"gid", 65534},
                      {"supplemental_groups", {1234, 5678}},
                      {"supplemental_groups_policy", "Strict"},
                      {"capabilities", json::array()}};
  const auto r = run(dir, "id -G", extra);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "65534 1234 5678\n");
  const json started = json::parse(read_file(dir.file("started.json")));
  CHECK(started["user"] == json{{"uid", 65534}, {"gid", 65534}, {"groups", {65534, 1234, 5678}}});
  CHECK(exec(dir, "id -G", extra).out == "65534 1234 5678\n");
  SECTION("root with no groups asked for gets its own group only (no leak of lxe-init's groups)") {
    const auto plain = run(dir, "id -G", {{"supplemental_groups", json::array()}, {"supplemental_groups_policy", "Strict"}});
    CHECK(plain.out == "0\n");
  }
}

TEST_CASE("init security: oom_score_adj, for the workload and for execs", "[init][security]") {
  if (!root()) return;
  TempDir dir;
  const std::string script = "cat /proc/self/oom_score_adj";
  CHECK(run(dir, script, {{"oom_score_adj", 1000}}).out == "1000\n");
  // Lower than inherited only with CAP_SYS_RESOURCE over the host, which this machine may not give
  // its root: lxe-init sets what a shell here could, and a refusal is no failure.
  const auto floor = run_command({"/bin/sh", "-c", "echo -997 > /proc/self/oom_score_adj 2>/dev/null; " + script});
  const auto lowered = run(dir, script, {{"oom_score_adj", -997}});
  CHECK(lowered.exit_code == 0);
  CHECK(lowered.out == floor.out);
  CHECK(exec(dir, script, {{"oom_score_adj", 500}}).out == "500\n");
  // Without one the process keeps what it inherited.
  CHECK(run(dir, script, json::object()).out == read_file("/proc/self/oom_score_adj"));
}

TEST_CASE("init security: a bad security field is a bad spec", "[init][security]") {
  TempDir dir;
  for (const auto& [field, value] : std::vector<std::pair<std::string, json>>{
           {"capabilities", {"CAP_NOPE"}},
           {"seccomp", {{"defaultAction", "SCMP_ACT_MAYBE"}}},
           {"supplemental_groups", {-1}},
           {"supplemental_groups_policy", "Loose"},
           {"no_new_privs", "yes"},
           {"oom_score_adj", 1001},
           {"oom_score_adj", "high"}}) {
    INFO(field);
    const auto r = run_command({init_binary(), "run", write_spec(dir, {"true"}, {{field, value}})});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(field));
  }
}
