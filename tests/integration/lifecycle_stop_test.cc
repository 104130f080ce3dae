// StopContainer's grace period: the command gets SIGTERM and the timeout to end by itself, and is
// killed only after that.
#include <catch2/catch.hpp>
#include <future>

#include "support/cri_fixture.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;

namespace {

long long seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("lifecycle: StopContainer waits the grace period for the command, then kills it", "[lifecycle][lxd]") {
  CriFixture fx("stop");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  // Ends cleanly on SIGTERM.
  const std::string polite = fx.must_run_container(
      pod_id, fx.container_config("polite", {"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"}), pod);
  // Ignores SIGTERM (the ignoring is inherited by its sleeps).
  const std::string stubborn = fx.must_run_container(
      pod_id, fx.container_config("stubborn", {"sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"}), pod);

  {
    const auto t0 = std::chrono::steady_clock::now();
    const auto status = fx.stop(polite, 20);
    const auto ms = seconds_since(t0);
    INFO(describe(status) << " after " << ms << " ms");
    REQUIRE(status.ok());
    // Its own clean exit, long before the grace period is over.
    CHECK(ms < 15000);
    const auto st = fx.container_status(polite);
    REQUIRE(st.ok());
    CHECK(st.value.state() == cri::CONTAINER_EXITED);
    CHECK(st.value.exit_code() == 0);
    CHECK(st.value.reason() == "Completed");
  }
  {
    const auto t0 = std::chrono::steady_clock::now();
    const auto status = fx.stop(stubborn, 2);
    const auto ms = seconds_since(t0);
    INFO(describe(status) << " after " << ms << " ms");
    REQUIRE(status.ok());
    // Given its grace period, then killed: not at once, not after LXD's default 30 s.
    CHECK(ms >= 1500);
    CHECK(ms < 20000);
    const auto st = fx.container_status(stubborn);
    REQUIRE(st.ok());
    CHECK(st.value.state() == cri::CONTAINER_EXITED);
    CHECK(st.value.exit_code() == 137);
    CHECK(st.value.reason() == "Error");
  }

  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("lifecycle: pods do not share loopback or hostname", "[lifecycle][lxd]") {
  CriFixture fx("iso");
  auto pod_a = fx.pod_config("a");
  pod_a.set_hostname("host-a");
  auto pod_b = fx.pod_config("b");
  pod_b.set_hostname("host-b");
  const std::string a = fx.must_run_pod(pod_a);
  const std::string b = fx.must_run_pod(pod_b);
  const std::string server = fx.must_run_container(
      a, fx.container_config("server", {"sh", "-c", "while true; do echo hi | nc -l -p 8080; done"}), pod_a);
  const std::string other = fx.must_run_container(b, fx.container_config("other", {"sleep", "3600"}), pod_b);

  // In pod a, the port answers (retrying until the listener is up).
  {
    cri::ExecSyncResponse last;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
      const auto r = fx.exec(server, {"nc", "-w", "2", "127.0.0.1", "8080"}, 5);
      last = r.value;
      if ((r.ok() && last.stdout() == "hi\n") || std::chrono::steady_clock::now() >= deadline) break;
    }
    REQUIRE(last.stdout() == "hi\n");
  }
  // From pod b, 127.0.0.1:8080 is its own loopback: nobody listens there.
  {
    const auto r = fx.exec(other, {"nc", "-w", "2", "127.0.0.1", "8080"}, 5);
    INFO(describe(r.status) << " stdout '" << r.value.stdout() << "' stderr '" << r.value.stderr() << "'");
    REQUIRE(r.ok());
    CHECK(r.value.stdout().empty());
    CHECK(r.value.exit_code() != 0);
  }
  CHECK(fx.exec(server, {"hostname"}).value.stdout() == "host-a\n");
  CHECK(fx.exec(other, {"hostname"}).value.stdout() == "host-b\n");

  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("lifecycle: a StopContainer retried while the first stop runs returns only when the container stopped",
          "[lifecycle][lxd]") {
  CriFixture fx("stopretry");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  // Ignores SIGTERM: the first stop takes its whole grace period.
  const std::string stubborn = fx.must_run_container(
      pod_id, fx.container_config("stubborn", {"sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"}), pod);

  auto first = std::async(std::launch::async, [&] { return fx.stop(stubborn, 6); });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  // kubelet's retry after its first call ran out of time: the stop is recorded, not yet done.
  const auto second = fx.stop(stubborn, 6);
  INFO(describe(second));
  REQUIRE(second.ok());
  // OK means stopped: the state right after the answer is EXITED, not still RUNNING.
  const auto st = fx.container_status(stubborn);
  REQUIRE(st.ok());
  CHECK(st.value.state() == cri::CONTAINER_EXITED);
  CHECK(first.get().ok());

  fx.remove_all_pods_and_expect_clean();
}
