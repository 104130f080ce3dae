// How a container's command ends shows in ContainerStatus: exit code, reason, timestamps; and a
// command that cannot be run at all leaves an EXITED container with the reason in its log.
//
// The commands of the first test live a moment (`sleep 1`) before they exit: on this LXD (5.0.2), an
// instance whose init exits while LXD is still starting it makes the start operation hang for up
// to ~20 s and leaves LXD busy with a "stop" operation afterwards. The second test covers exactly
// that case (commands that end at once), which is where lxe has work to do (see its comment).
#include <catch2/catch.hpp>

#include <thread>

#include "support/cri_fixture.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;

TEST_CASE("lifecycle: a command's exit code and reason reach ContainerStatus", "[lifecycle][lxd]") {
  CriFixture fx("exit");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);

  const std::string failing =
      fx.must_run_container(pod_id, fx.container_config("fail", {"sh", "-c", "sleep 1; exit 3"}), pod);
  const std::string clean =
      fx.must_run_container(pod_id, fx.container_config("ok", {"sh", "-c", "sleep 1; exit 0"}), pod);

  {
    const auto st = fx.wait_for_state(failing, cri::CONTAINER_EXITED);
    INFO("state " << cri::ContainerState_Name(st.state()) << " reason " << st.reason() << " message " << st.message());
    REQUIRE(st.state() == cri::CONTAINER_EXITED);
    CHECK(st.exit_code() == 3);
    CHECK(st.reason() == "Error");
    CHECK(st.started_at() > 0);
    CHECK(st.finished_at() > st.started_at());
  }
  {
    const auto st = fx.wait_for_state(clean, cri::CONTAINER_EXITED);
    INFO("state " << cri::ContainerState_Name(st.state()) << " reason " << st.reason() << " message " << st.message());
    REQUIRE(st.state() == cri::CONTAINER_EXITED);
    CHECK(st.exit_code() == 0);
    CHECK(st.reason() == "Completed");
    CHECK(st.started_at() > 0);
    CHECK(st.finished_at() > st.started_at());
  }
  // An exited container stays listed, EXITED, until it is removed; its exit code does not change
  // when asked again (a later resync must not overwrite the record).
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  {
    const auto st = fx.container_status(failing);
    REQUIRE(st.ok());
    CHECK(st.value.state() == cri::CONTAINER_EXITED);
    CHECK(st.value.exit_code() == 3);
  }
  // Stopping an exited container is a no-op that keeps its exit code.
  REQUIRE(fx.stop(failing, 1).ok());
  CHECK(fx.container_status(failing).value.exit_code() == 3);
  CHECK(fx.container_status(failing).value.reason() == "Error");

  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("lifecycle: commands that end at once: prompt start, exit code, and a pod that can be removed",
          "[lifecycle][lxd]") {
  // kubelet runs such containers all the time (init containers, jobs, crash loops). On this LXD the
  // start of an instance whose init exits at once can take 15-20 s, and LXD then stays busy with a
  // "stop" operation during which DELETE is refused ("Instance is busy running a "stop"
  // operation"). RemovePodSandbox must not fail on that: it is LXD being busy, not a refusal.
  CriFixture fx("exitnow");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);

  const auto t0 = std::chrono::steady_clock::now();
  const std::string at_once = fx.must_run_container(pod_id, fx.container_config("now", {"sh", "-c", "exit 3"}), pod);
  const auto start_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  {
    INFO("StartContainer took " << start_ms << " ms");  // speed is the benchmark's business
    const auto st = fx.wait_for_state(at_once, cri::CONTAINER_EXITED);
    REQUIRE(st.state() == cri::CONTAINER_EXITED);
    CHECK(st.exit_code() == 3);
    CHECK(st.reason() == "Error");
  }

  // A command that does not exist in the image: the container ends EXITED with a non-zero code
  // (or StartContainer refuses), and says why in its log.
  auto missing = fx.container_config("missing", {"/no/such/program"}, "missing.log");
  const std::string missing_id = fx.must_create_container(pod_id, missing, pod);
  const auto start = fx.start(missing_id);
  INFO("StartContainer of a missing program: " << describe(start));
  const auto st = fx.wait_for_state(missing_id, cri::CONTAINER_EXITED);
  INFO("reason " << st.reason() << " message " << st.message());
  REQUIRE(st.state() == cri::CONTAINER_EXITED);
  CHECK(st.exit_code() != 0);
  CHECK(st.reason() != "Completed");
  if (start.ok()) {
    std::string log;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    do {
      try {
        log = lxe::test::read_file(CriFixture::log_file(pod, "missing.log"));
      } catch (const std::exception&) {
      }
    } while (log.find("/no/such/program") == std::string::npos && std::chrono::steady_clock::now() < deadline);
    INFO("log: " << log);
    CHECK_THAT(log, Catch::Contains("stderr F") && Catch::Contains("/no/such/program"));
  }

  // Right away, as kubelet does once it saw the containers exit.
  fx.remove_all_pods_and_expect_clean();
}
