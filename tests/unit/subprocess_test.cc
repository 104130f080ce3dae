// Running helper programs: output, exit codes, stdin, descriptors handed over, the deadline.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/subprocess.h"
#include "common/unique_fd.h"

using lxe::ProcessSpec;

namespace {

ProcessSpec shell(const std::string& script) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.env = {"PATH=/usr/bin:/bin", "GREETING=hi"};
  spec.timeout = std::chrono::seconds(20);
  return spec;
}

}  // namespace

TEST_CASE("subprocess: output, exit code and environment", "[subprocess]") {
  const auto exit = lxe::run_process(shell("echo out $GREETING; echo err >&2; exit 3"));
  CHECK(exit.out == "out hi\n");
  CHECK(exit.err == "err\n");
  CHECK_FALSE(exit.succeeded());
  CHECK(exit.describe() == "exit code 3");
  CHECK(exit.said() == "err");
  CHECK(lxe::run_process(shell("true")).succeeded());
}

TEST_CASE("subprocess: stdin larger than a pipe's buffer, while the program prints", "[subprocess]") {
  auto spec = shell("wc -c; cat /dev/null");
  spec.input = std::string(1 << 20, 'x');
  const auto exit = lxe::run_process(spec);
  REQUIRE(exit.succeeded());
  CHECK(exit.out.find("1048576") != std::string::npos);
}

TEST_CASE("subprocess: a descriptor handed over as fd 3", "[subprocess]") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  lxe::UniqueFd read_end(fds[0]), write_end(fds[1]);
  REQUIRE(::write(write_end.get(), "secret", 6) == 6);
  write_end.reset();
  auto spec = shell("cat /proc/self/fd/3");
  spec.pass_fds = {read_end.get()};
  const auto exit = lxe::run_process(spec);
  CHECK(exit.out == "secret");
  // Without it, fd 3 is not there: lxe's own descriptors are never inherited.
  CHECK_FALSE(lxe::run_process(shell("cat /proc/self/fd/3")).succeeded());
}

TEST_CASE("subprocess: killed at the deadline, with its process group", "[subprocess]") {
  auto spec = shell("sleep 30 & sleep 30");
  spec.timeout = std::chrono::milliseconds(300);
  spec.own_process_group = true;
  const auto exit = lxe::run_process(spec);
  CHECK(exit.timed_out);
  CHECK(exit.describe() == "did not finish in time");
  CHECK_THROWS(lxe::run_process(ProcessSpec{}));
}
