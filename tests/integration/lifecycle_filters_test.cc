// ListPodSandbox and ListContainers filters, over two pods and containers in every state.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "support/cri_fixture.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;

namespace {

template <typename T>
std::set<std::string> ids(const std::vector<T>& items) {
  std::set<std::string> out;
  for (const auto& i : items) out.insert(i.id());
  return out;
}

cri::PodSandboxFilter pod_by_id(const std::string& id) {
  cri::PodSandboxFilter f;
  f.set_id(id);
  return f;
}

cri::PodSandboxFilter pod_by_state(cri::PodSandboxState state) {
  cri::PodSandboxFilter f;
  f.mutable_state()->set_state(state);
  return f;
}

cri::PodSandboxFilter pod_by_labels(std::map<std::string, std::string> labels) {
  cri::PodSandboxFilter f;
  for (const auto& [k, v] : labels) (*f.mutable_label_selector())[k] = v;
  return f;
}

cri::ContainerFilter container_by_state(cri::ContainerState state) {
  cri::ContainerFilter f;
  f.mutable_state()->set_state(state);
  return f;
}

}  // namespace

TEST_CASE("lifecycle: ListPodSandbox and ListContainers filter by id, state, pod and labels", "[lifecycle][lxd]") {
  CriFixture fx("filt");
  auto pod_a = fx.pod_config("a");
  (*pod_a.mutable_labels())["app"] = "alpha";
  (*pod_a.mutable_labels())["tier"] = "web";
  auto pod_b = fx.pod_config("b");
  (*pod_b.mutable_labels())["app"] = "beta";
  (*pod_b.mutable_labels())["tier"] = "web";
  const std::string a = fx.must_run_pod(pod_a);
  const std::string b = fx.must_run_pod(pod_b);

  auto created_config = fx.container_config("created", {"sleep", "3600"});
  (*created_config.mutable_labels())["kind"] = "x";
  auto running_config = fx.container_config("running", {"sleep", "3600"});
  (*running_config.mutable_labels())["kind"] = "y";
  auto exited_config = fx.container_config("exited", {"sh", "-c", "sleep 0.5; exit 0"});
  (*exited_config.mutable_labels())["kind"] = "x";
  const std::string created = fx.must_create_container(a, created_config, pod_a);
  const std::string running = fx.must_run_container(a, running_config, pod_a);
  const std::string exited = fx.must_run_container(b, exited_config, pod_b);
  REQUIRE(fx.wait_for_state(exited, cri::CONTAINER_EXITED).state() == cri::CONTAINER_EXITED);
  // Pod b stops: NOTREADY, while a stays READY.
  REQUIRE(fx.stop_pod(b).ok());

  using Set = std::set<std::string>;

  {  // pods
    CHECK(ids(fx.list_pods()) == Set{a, b});
    CHECK(ids(fx.list_pods(cri::PodSandboxFilter())) == Set{a, b});
    // By ID: full, and a prefix as crictl users type it.
    CHECK(ids(fx.list_pods(pod_by_id(a))) == Set{a});
    CHECK(ids(fx.list_pods(pod_by_id(b.substr(0, 12)))) == Set{b});
    CHECK(fx.list_pods(pod_by_id(std::string(64, '0'))).empty());
    // By state.
    CHECK(ids(fx.list_pods(pod_by_state(cri::SANDBOX_READY))) == Set{a});
    CHECK(ids(fx.list_pods(pod_by_state(cri::SANDBOX_NOTREADY))) == Set{b});
    // By labels: every pair of the selector must match.
    CHECK(ids(fx.list_pods(pod_by_labels({{"app", "alpha"}}))) == Set{a});
    CHECK(ids(fx.list_pods(pod_by_labels({{"tier", "web"}}))) == Set{a, b});
    CHECK(ids(fx.list_pods(pod_by_labels({{"tier", "web"}, {"app", "beta"}}))) == Set{b});
    CHECK(fx.list_pods(pod_by_labels({{"app", "gamma"}})).empty());
    CHECK(fx.list_pods(pod_by_labels({{"tier", "web"}, {"app", "gamma"}})).empty());
    CHECK(fx.list_pods(pod_by_labels({{"nosuchlabel", "web"}})).empty());
    // Combined: all must hold.
    auto f = pod_by_labels({{"tier", "web"}});
    f.mutable_state()->set_state(cri::SANDBOX_NOTREADY);
    CHECK(ids(fx.list_pods(f)) == Set{b});
    f.set_id(a);
    CHECK(fx.list_pods(f).empty());
    // The listed pod carries its metadata and labels.
    const auto listed = fx.list_pods(pod_by_id(a));
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].metadata().name() == pod_a.metadata().name());
    CHECK(listed[0].metadata().uid() == pod_a.metadata().uid());
    CHECK(listed[0].labels().at("app") == "alpha");
    CHECK(listed[0].state() == cri::SANDBOX_READY);
  }

  {  // containers
    CHECK(ids(fx.list_containers()) == Set{created, running, exited});
    // By ID, full and prefix.
    cri::ContainerFilter by_id;
    by_id.set_id(running);
    CHECK(ids(fx.list_containers(by_id)) == Set{running});
    by_id.set_id(exited.substr(0, 10));
    CHECK(ids(fx.list_containers(by_id)) == Set{exited});
    by_id.set_id(std::string(64, 'f'));
    CHECK(fx.list_containers(by_id).empty());
    // By state.
    CHECK(ids(fx.list_containers(container_by_state(cri::CONTAINER_CREATED))) == Set{created});
    CHECK(ids(fx.list_containers(container_by_state(cri::CONTAINER_RUNNING))) == Set{running});
    CHECK(ids(fx.list_containers(container_by_state(cri::CONTAINER_EXITED))) == Set{exited});
    CHECK(fx.list_containers(container_by_state(cri::CONTAINER_UNKNOWN)).empty());
    // By pod.
    cri::ContainerFilter by_pod;
    by_pod.set_pod_sandbox_id(a);
    CHECK(ids(fx.list_containers(by_pod)) == Set{created, running});
    by_pod.set_pod_sandbox_id(b);
    CHECK(ids(fx.list_containers(by_pod)) == Set{exited});
    by_pod.set_pod_sandbox_id(std::string(64, '0'));
    CHECK(fx.list_containers(by_pod).empty());
    // By labels.
    cri::ContainerFilter by_label;
    (*by_label.mutable_label_selector())["kind"] = "x";
    CHECK(ids(fx.list_containers(by_label)) == Set{created, exited});
    by_label.set_pod_sandbox_id(a);
    CHECK(ids(fx.list_containers(by_label)) == Set{created});
    (*by_label.mutable_label_selector())["kind"] = "z";
    CHECK(fx.list_containers(by_label).empty());
    // The listed container carries what kubelet needs.
    by_id.set_id(running);
    const auto listed = fx.list_containers(by_id);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].pod_sandbox_id() == a);
    CHECK(listed[0].metadata().name() == "running");
    CHECK(listed[0].image().image() == "busybox");
    CHECK_FALSE(listed[0].image_ref().empty());
    CHECK(listed[0].state() == cri::CONTAINER_RUNNING);
    CHECK(listed[0].labels().at("kind") == "y");
  }

  fx.remove_all_pods_and_expect_clean();
}
