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
