// A pod's whole life on the real LXD, through lxe's CRI socket as kubelet drives it: run the pod,
// create and start containers, read their logs, exec into them, talk between them over the pod's
// loopback, stop and remove everything, and find LXD left with nothing lxe made.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/cri_fixture.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;

namespace {

// A CRI log record: "<RFC3339Nano UTC> <stream> <F|P> <content>".
bool has_log_record(const std::string& text, const std::string& stream, const std::string& content) {
  const std::regex record("^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{9}Z " + stream + " F " + content + "$");
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (std::regex_match(line, record)) return true;
  return false;
}

std::string read_or_empty(const std::string& path) {
  try {
    return lxe::test::read_file(path);
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace

TEST_CASE("lifecycle: a pod and its containers from RunPodSandbox to RemovePodSandbox", "[lifecycle][lxd]") {
  CriFixture fx("life");
  auto pod = fx.pod_config("p");
  pod.set_hostname("lifehost");
  pod.mutable_dns_config()->add_servers("10.0.0.53");
  pod.mutable_dns_config()->add_searches("lxe.example");
  pod.mutable_dns_config()->add_options("ndots:2");
  (*pod.mutable_labels())["app"] = "life";

  // ---- RunPodSandbox → READY
  const std::string pod_id = fx.must_run_pod(pod);
  {
    const auto status = fx.pod_status(pod_id);
    INFO(describe(status.status));
    REQUIRE(status.ok());
    CHECK(status.value.status().id() == pod_id);
    CHECK(status.value.status().state() == cri::SANDBOX_READY);
    CHECK(status.value.status().metadata().name() == pod.metadata().name());
    CHECK(status.value.status().metadata().namespace_() == "lxe-test");
    CHECK(status.value.status().metadata().uid() == pod.metadata().uid());
    CHECK(status.value.status().labels().at("app") == "life");
    CHECK(status.value.status().created_at() > 0);
  }
  // The pod is an LXD profile and a namespace holder instance.
  CHECK(fx.lxd_profiles().size() == 1);
  CHECK(fx.lxd_instances().size() == 1);
  // The holder's init PID lxe recorded (read from its cgroup, not from LXD's /state) is the one
  // LXD reports: the PID the pod's containers join the namespaces of.
  {
    const auto verbose = fx.pod_status(pod_id, true);
    REQUIRE(verbose.ok());
    const auto info = nlohmann::json::parse(verbose.value.info().at("info"));
    const int64_t recorded = info.at("infraPid").get<int64_t>();
    CHECK(recorded > 0);
    CHECK(recorded == fx.lxd().get_instance_state(info.at("lxdInstance").get<std::string>()).pid);
  }

  // ---- CreateContainer → CREATED
  const std::string log_path = "c1.log";
  auto c1_config = fx.container_config(
      "c1", {"sh", "-c", "echo hello; echo oops >&2; while true; do echo hi | nc -l -p 8080; done"}, log_path);
  (*c1_config.mutable_labels())["role"] = "server";
  const std::string c1 = fx.must_create_container(pod_id, c1_config, pod);
  {
    const auto status = fx.container_status(c1);
    REQUIRE(status.ok());
    CHECK(status.value.id() == c1);
    CHECK(status.value.state() == cri::CONTAINER_CREATED);
    CHECK(status.value.metadata().name() == "c1");
    CHECK(status.value.created_at() > 0);
    CHECK(status.value.started_at() == 0);
    CHECK(status.value.image().image() == "busybox");
    CHECK_FALSE(status.value.image_ref().empty());
    CHECK(status.value.log_path() == CriFixture::log_file(pod, log_path));
    CHECK(status.value.labels().at("role") == "server");
  }
  CHECK(fx.lxd_instances().size() == 2);

  // ---- StartContainer → RUNNING, started_at set
  {
    const auto status = fx.start(c1);
    INFO(describe(status));
    REQUIRE(status.ok());
  }
  {
    const auto status = fx.container_status(c1);
    REQUIRE(status.ok());
    CHECK(status.value.state() == cri::CONTAINER_RUNNING);
    CHECK(status.value.started_at() >= status.value.created_at());
    CHECK(status.value.finished_at() == 0);
  }

  // ---- the log: CRI records "... stdout F hello" and "... stderr F oops"
  {
    const std::string path = CriFixture::log_file(pod, log_path);
    std::string text;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!(has_log_record(text = read_or_empty(path), "stdout", "hello") && has_log_record(text, "stderr", "oops")) &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    INFO("log file " << path << ":\n" << text);
    CHECK(has_log_record(text, "stdout", "hello"));
    CHECK(has_log_record(text, "stderr", "oops"));
  }

  // ---- the pod's hostname and DNS config, seen from inside
  {
    const auto r = fx.exec(c1, {"hostname"});
    INFO(describe(r.status) << " stderr: " << r.value.stderr());
    REQUIRE(r.ok());
    CHECK(r.value.exit_code() == 0);
    CHECK(r.value.stdout() == "lifehost\n");
  }
  {
    const auto r = fx.exec(c1, {"cat", "/etc/resolv.conf"});
    INFO(describe(r.status) << " stdout: " << r.value.stdout() << " stderr: " << r.value.stderr());
    REQUIRE(r.ok());
    CHECK(r.value.exit_code() == 0);
    CHECK_THAT(r.value.stdout(), Catch::Contains("nameserver 10.0.0.53"));
    CHECK_THAT(r.value.stdout(), Catch::Contains("search lxe.example"));
    CHECK_THAT(r.value.stdout(), Catch::Contains("options ndots:2"));
  }

  // ---- ExecSync: stdout, stderr and the exit code, each apart
  {
    const auto r = fx.exec(c1, {"sh", "-c", "echo out; echo err >&2; exit 7"});
    INFO(describe(r.status));
    REQUIRE(r.ok());
    CHECK(r.value.stdout() == "out\n");
    CHECK(r.value.stderr() == "err\n");
    CHECK(r.value.exit_code() == 7);
  }

  // ---- a second container of the pod reaches the first over 127.0.0.1
  // The second container also gets an environment variable and a read-only bind mount.
  const std::string data_dir = fx.dir().path() + "/data";
  std::filesystem::create_directories(data_dir);
  ::chmod(data_dir.c_str(), 0755);
  lxe::test::write_file(data_dir + "/greeting", "from the host\n");
  ::chmod((data_dir + "/greeting").c_str(), 0644);
  auto c2_config = fx.container_config("c2", {"sh", "-c", "echo \"main:$GREETING\"; exec sleep 3600"}, "c2.log");
  auto* env = c2_config.add_envs();
  env->set_key("GREETING");
  env->set_value("hello from env");
  auto* mount = c2_config.add_mounts();
  mount->set_host_path(data_dir);
  mount->set_container_path("/data");
  mount->set_readonly(true);
  const std::string c2 = fx.must_run_container(pod_id, c2_config, pod);
  {
    const auto r = fx.exec(c2, {"sh", "-c", "echo \"$GREETING\"; cat /data/greeting; touch /data/x 2>/dev/null || echo ro"});
    INFO(describe(r.status) << " stderr: " << r.value.stderr());
    REQUIRE(r.ok());
    CHECK(r.value.stdout() == "hello from env\nfrom the host\nro\n");
    CHECK_FALSE(std::filesystem::exists(data_dir + "/x"));
    // The command itself got the variable too.
    const std::string path = CriFixture::log_file(pod, "c2.log");
    std::string text;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!has_log_record(text = read_or_empty(path), "stdout", "main:hello from env") &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    INFO("log file " << path << ":\n" << text);
    CHECK(has_log_record(text, "stdout", "main:hello from env"));
  }
  {
    cri::ExecSyncResponse last;
    grpc::Status last_status;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
      const auto r = fx.exec(c2, {"nc", "-w", "2", "127.0.0.1", "8080"}, 5);
      last_status = r.status;
      last = r.value;
      if (r.ok() && r.value.stdout() == "hi\n") break;
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    INFO(describe(last_status) << " exit " << last.exit_code() << " stdout '" << last.stdout() << "' stderr '"
                               << last.stderr() << "'");
    CHECK(last_status.ok());
    CHECK(last.stdout() == "hi\n");
  }
  // Same hostname in every container of the pod.
  {
    const auto r = fx.exec(c2, {"hostname"});
    REQUIRE(r.ok());
    CHECK(r.value.stdout() == "lifehost\n");
  }
  CHECK(fx.list_containers().size() == 2);

  // ---- StopContainer(timeout 2) → EXITED, with the exit code of the SIGTERM'd shell
  {
    const auto status = fx.stop(c1, 2);
    INFO(describe(status));
    REQUIRE(status.ok());
  }
  {
    const auto status = fx.container_status(c1);
    REQUIRE(status.ok());
    CHECK(status.value.state() == cri::CONTAINER_EXITED);
    // sh killed by the SIGTERM lxe-init forwards: 128 + 15.
    CHECK(status.value.exit_code() == 143);
    CHECK(status.value.reason() == "Error");
    CHECK(status.value.finished_at() >= status.value.started_at());
    CHECK(status.value.started_at() > 0);
  }

  // ---- RemoveContainer: gone from lxe and from LXD
  {
    const auto status = fx.remove(c1);
    INFO(describe(status));
    REQUIRE(status.ok());
  }
  CHECK(fx.container_status(c1).code() == grpc::StatusCode::NOT_FOUND);
  CHECK(fx.list_containers().size() == 1);
  // c1's instance goes right after the answer, once LXD has torn it down.
  CHECK(fx.settles([&] { return fx.lxd_instances().size() == 2; }));  // the holder and c2

  // ---- StopPodSandbox → NOTREADY, its running container stopped
  {
    const auto status = fx.stop_pod(pod_id);
    INFO(describe(status));
    REQUIRE(status.ok());
  }
  {
    const auto status = fx.pod_status(pod_id);
    REQUIRE(status.ok());
    CHECK(status.value.status().state() == cri::SANDBOX_NOTREADY);
  }
  {
    const auto status = fx.container_status(c2);
    REQUIRE(status.ok());
    CHECK(status.value.state() == cri::CONTAINER_EXITED);
    CHECK(status.value.finished_at() > 0);
  }

  // ---- RemovePodSandbox → gone from ListPodSandbox and from LXD
  {
    const auto status = fx.remove_pod(pod_id);
    INFO(describe(status));
    REQUIRE(status.ok());
  }
  for (const auto& p : fx.list_pods()) CHECK(p.id() != pod_id);
  CHECK(fx.pod_status(pod_id).code() == grpc::StatusCode::NOT_FOUND);
  CHECK(fx.container_status(c2).code() == grpc::StatusCode::NOT_FOUND);
  fx.remove_all_pods_and_expect_clean();
}
