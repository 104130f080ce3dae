// Killing what a stopped container left in its cgroup, against a cgroup tree laid out in a
// temporary folder (cgroup.procs files naming real processes this test starts).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "reconcile/cgroup_cleanup.h"
#include "support/temp_dir.h"

using lxe::reconcile::kill_cgroup_leftovers;
using lxe::test::TempDir;
using lxe::test::write_file;

namespace {

pid_t start_sleeper() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execlp("sleep", "sleep", "300", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  REQUIRE(pid > 0);
  return pid;
}

// The signal that ended `pid` (0 when it exited or is still running after 5 s).
int ended_by(pid_t pid) {
  for (int i = 0; i < 500; ++i) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    ::usleep(10000);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return 0;
}

}  // namespace

TEST_CASE("cgroup leftovers: a v1 layout's processes are killed in each hierarchy", "[cgroup_cleanup]") {
  TempDir root;
  const pid_t a = start_sleeper();
  const pid_t b = start_sleeper();
  std::filesystem::create_directories(root.file("pids/lxc.payload.lxe-web"));
  std::filesystem::create_directories(root.file("memory/lxc.payload.lxe-web"));
  std::filesystem::create_directories(root.file("memory/lxc.payload.lxe-other"));
  write_file(root.file("pids/lxc.payload.lxe-web/cgroup.procs"), std::to_string(a) + "\n");
  write_file(root.file("memory/lxc.payload.lxe-web/cgroup.procs"), std::to_string(a) + "\n" + std::to_string(b) + "\n");
  const pid_t other = start_sleeper();
  write_file(root.file("memory/lxc.payload.lxe-other/cgroup.procs"), std::to_string(other) + "\n");
  CHECK(kill_cgroup_leftovers("lxe-web", root.path()) >= 2);
  CHECK(ended_by(a) == SIGKILL);
  CHECK(ended_by(b) == SIGKILL);
  // Another instance's cgroup is not touched.
  CHECK(::kill(other, 0) == 0);
  ::kill(other, SIGKILL);
  ::waitpid(other, nullptr, 0);
}

TEST_CASE("cgroup leftovers: the unified layout, and an instance without a cgroup", "[cgroup_cleanup]") {
  TempDir root;
  const pid_t a = start_sleeper();
  std::filesystem::create_directories(root.file("lxc.payload.lxe-web"));
  write_file(root.file("lxc.payload.lxe-web/cgroup.procs"), std::to_string(a) + "\n");
  CHECK(kill_cgroup_leftovers("lxe-web", root.path()) >= 1);
  CHECK(ended_by(a) == SIGKILL);
  CHECK(kill_cgroup_leftovers("lxe-gone", root.path()) == 0);
  CHECK(kill_cgroup_leftovers("lxe-web", root.file("no-such-root")) == 0);
}

TEST_CASE("cgroup kill: every process of the instance but the spared one, nested cgroups too, folders stay",
          "[cgroup_cleanup]") {
  using lxe::reconcile::kill_cgroup_processes;
  TempDir root;
  const pid_t init = start_sleeper();
  const pid_t workload = start_sleeper();
  const pid_t nested = start_sleeper();
  std::filesystem::create_directories(root.file("pids/lxc.payload.lxe-web/inner"));
  write_file(root.file("pids/lxc.payload.lxe-web/cgroup.procs"),
             std::to_string(init) + "\n" + std::to_string(workload) + "\n");
  write_file(root.file("pids/lxc.payload.lxe-web/inner/cgroup.procs"), std::to_string(nested) + "\n");
  const auto sent = kill_cgroup_processes("lxe-web", init, root.path());
  REQUIRE(sent.has_value());
  CHECK(*sent >= 2);
  CHECK(ended_by(workload) == SIGKILL);
  CHECK(ended_by(nested) == SIGKILL);
  // The spared process (lxe-init, finishing its exit record) lives on.
  CHECK(::kill(init, 0) == 0);
  // LXC removes the folders when it tears the instance down; lxe leaves them.
  CHECK(std::filesystem::exists(root.file("pids/lxc.payload.lxe-web/inner")));
  ::kill(init, SIGKILL);
  ::waitpid(init, nullptr, 0);
  // No cgroup: the caller stops the instance through LXD.
  CHECK_FALSE(kill_cgroup_processes("lxe-gone", 0, root.path()).has_value());
}
