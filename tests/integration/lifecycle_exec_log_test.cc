// ExecSync's timeout, and ReopenContainerLog after kubelet rotated a log by renaming it.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <thread>

#include "support/cri_fixture.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;

namespace {

std::string read_or_empty(const std::string& path) {
  try {
    return lxe::test::read_file(path);
  } catch (const std::exception&) {
    return "";
  }
}

off_t size_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

// Waits up to `timeout` for `path` to hold a CRI record "stdout F <content>".
std::string wait_for_record(const std::string& path, const std::string& content,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string text;
  while ((text = read_or_empty(path)).find(" stdout F " + content + "\n") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return text;
}

}  // namespace

TEST_CASE("lifecycle: ExecSync with a timeout ends with DEADLINE_EXCEEDED", "[lifecycle][lxd]") {
  CriFixture fx("exectime");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string c = fx.must_run_container(pod_id, fx.container_config("c", {"sleep", "3600"}), pod);

  const auto t0 = std::chrono::steady_clock::now();
  const auto r = fx.exec(c, {"sleep", "31"}, 1, std::chrono::seconds(60));
  const auto took = std::chrono::steady_clock::now() - t0;
  INFO(describe(r.status) << " after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms");
  CHECK(r.code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  CHECK(took < std::chrono::seconds(20));

  // The timed-out command does not live on in the container.
  {
    std::string ps;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (true) {
      const auto listing = fx.exec(c, {"ps", "-o", "pid,args"});
      REQUIRE(listing.ok());
      ps = listing.value.stdout();
      if (ps.find("sleep 31") == std::string::npos || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    INFO("ps:\n" << ps);
    CHECK(ps.find("sleep 31") == std::string::npos);
  }
  // A command within its timeout is unaffected, and the container still serves execs.
  const auto quick = fx.exec(c, {"sh", "-c", "echo fine"}, 10);
  INFO(describe(quick.status));
  REQUIRE(quick.ok());
  CHECK(quick.value.stdout() == "fine\n");
  CHECK(quick.value.exit_code() == 0);
  CHECK(fx.container_status(c).value.state() == cri::CONTAINER_RUNNING);

  // An exec has no stdin: a command reading it sees end of file at once.
  {
    const auto t1 = std::chrono::steady_clock::now();
    const auto cat = fx.exec(c, {"cat"}, 10);
    INFO(describe(cat.status));
    CHECK(cat.ok());
    CHECK(cat.value.stdout().empty());
    CHECK(std::chrono::steady_clock::now() - t1 < std::chrono::seconds(8));
  }
  // Large output comes back whole, on both streams.
  {
    const auto big = fx.exec(c, {"sh", "-c", "seq 1 100000; seq 1 50000 >&2"}, 20);
    INFO(describe(big.status));
    REQUIRE(big.ok());
    CHECK(big.value.exit_code() == 0);
    CHECK(big.value.stdout().size() == 588895);
    CHECK(big.value.stdout().substr(big.value.stdout().size() - 7) == "100000\n");
    CHECK(big.value.stderr().size() == 288894);
  }
  // A command that does not exist: exit code 127, as a shell gives.
  {
    const auto missing = fx.exec(c, {"/no/such/program"});
    INFO(describe(missing.status) << " stderr: " << missing.value.stderr());
    REQUIRE(missing.ok());
    CHECK(missing.value.exit_code() == 127);
  }

  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("lifecycle: ReopenContainerLog writes to a new file after the log was renamed", "[lifecycle][lxd]") {
  CriFixture fx("reopen");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string log_path = "tick.log";
  const std::string c = fx.must_run_container(
      pod_id, fx.container_config("c", {"sh", "-c", "while true; do echo tick; sleep 0.2; done"}, log_path), pod);
  const std::string path = CriFixture::log_file(pod, log_path);
  const std::string rotated = path + ".1";

  {
    const auto text = wait_for_record(path, "tick");
    INFO("log " << path << ":\n" << text);
    REQUIRE(text.find(" stdout F tick\n") != std::string::npos);
  }

  // kubelet's rotation: rename, then ask the runtime to reopen.
  REQUIRE(std::rename(path.c_str(), rotated.c_str()) == 0);
  {
    const auto status = fx.reopen_log(c);
    INFO(describe(status));
    REQUIRE(status.ok());
  }
  {
    const auto text = wait_for_record(path, "tick");
    INFO("new log " << path << ":\n" << text);
    CHECK(text.find(" stdout F tick\n") != std::string::npos);
  }
  // The rotated file gets nothing more once the new one is in use.
  const off_t rotated_size = size_of(rotated);
  CHECK(rotated_size > 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  CHECK(size_of(rotated) == rotated_size);
  // And the new file keeps growing.
  const off_t new_size = size_of(path);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  CHECK(size_of(path) > new_size);

  // Reopening without a rotation is harmless: the same file goes on.
  {
    const auto status = fx.reopen_log(c);
    INFO(describe(status));
    CHECK(status.ok());
    const off_t before = size_of(path);
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    CHECK(size_of(path) > before);
  }

  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("lifecycle: ExecSync runs as the container's user, in its working directory", "[lifecycle][lxd]") {
  // CRI runtimes run an exec with the container's process identity (containerd copies the
  // container's OCI process spec and replaces only its args): kubelet's exec probes and
  // `kubectl exec` into a runAsUser/runAsNonRoot pod must not run as root.
  CriFixture fx("execid");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  auto config = fx.container_config("c", {"sh", "-c", "echo \"main $(id -u) $(id -g) $(pwd)\"; exec sleep 3600"}, "c.log");
  config.set_working_dir("/tmp");
  config.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(1000);
  config.mutable_linux()->mutable_security_context()->mutable_run_as_group()->set_value(1000);
  const std::string c = fx.must_run_container(pod_id, config, pod);

  // The command itself runs so (lxe-init's part).
  {
    const auto text = wait_for_record(CriFixture::log_file(pod, "c.log"), "main 1000 1000 /tmp");
    INFO("log:\n" << text);
    CHECK(text.find(" stdout F main 1000 1000 /tmp\n") != std::string::npos);
  }
  // And so does an exec into it.
  const auto r = fx.exec(c, {"sh", "-c", "echo \"$(id -u) $(id -g) $(pwd)\""}, 10);
  INFO(describe(r.status) << " stderr: " << r.value.stderr());
  REQUIRE(r.ok());
  CHECK(r.value.stdout() == "1000 1000 /tmp\n");

  fx.remove_all_pods_and_expect_clean();
}
