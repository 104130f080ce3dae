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

TEST_CASE("cgroup init PID: the process of the instance's cgroup that is PID 1 of its own namespace",
          "[cgroup_cleanup]") {
  TempDir dir;
  const std::string cgroups = dir.file("cgroup");
  const std::string proc = dir.file("proc");
  const auto put = [](const std::string& path, const std::string& content) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    write_file(path, content);
  };
  const auto status = [&](int pid, const std::string& nspid) {
    put(proc + "/" + std::to_string(pid) + "/status",
               "Name:\tlxe-init\nPid:\t" + std::to_string(pid) + "\nNSpid:\t" + nspid + "\nVmRSS:\t1 kB\n");
  };
  using lxe::reconcile::cgroup_init_pid;
  // No cgroup: nothing (the caller asks LXD).
  CHECK_FALSE(cgroup_init_pid("h", cgroups, proc));
  // A v1 layout: the same processes in each hierarchy; the init and a child of it.
  for (const char* hierarchy : {"pids", "memory"})
    put(cgroups + "/" + hierarchy + "/lxc.payload.h/cgroup.procs", "4100\n4101\n");
  status(4100, "4100\t1");
  status(4101, "4101\t7");
  CHECK(cgroup_init_pid("h", cgroups, proc) == 4100);
  // Another instance's cgroup is not looked at.
  CHECK_FALSE(cgroup_init_pid("other", cgroups, proc));
  // The host's PID namespace (one NSpid field): no init of its own.
  put(cgroups + "/pids/lxc.payload.hostpid/cgroup.procs", "4200\n");
  status(4200, "4200");
  CHECK_FALSE(cgroup_init_pid("hostpid", cgroups, proc));
  // Two processes that are PID 1 of a namespace (a container that made one of its own): ambiguous.
  put(cgroups + "/pids/lxc.payload.two/cgroup.procs", "4300\n4301\n");
  status(4300, "4300\t1");
  status(4301, "4301\t12\t1");
  CHECK_FALSE(cgroup_init_pid("two", cgroups, proc));
  // A process gone between the two reads (no status file): skipped.
  put(cgroups + "/pids/lxc.payload.gone/cgroup.procs", "4400\n4401\n");
  status(4401, "4401\t1");
  CHECK(cgroup_init_pid("gone", cgroups, proc) == 4401);
  // The unified layout.
  put(cgroups + "/lxc.payload.u/cgroup.procs", "4500\n");
  status(4500, "4500\t1");
  CHECK(cgroup_init_pid("u", cgroups, proc) == 4500);
}
