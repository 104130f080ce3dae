// Pulling OCI images from the loopback test registries (scripts/test-registry.sh, started by
// scripts/test.sh): references of every kind, a registries.conf mirror, credentials, the image's
// process defaults in a running container, RemoveImage, and the failures of bad references and
// registries that refuse, lack the image, or do not answer.
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/unique_fd.h"
#include "support/cri_fixture.h"
#include "support/test_lxd.h"

using lxe::test::CriFixture;
using lxe::test::describe;
using lxe::test::Reply;
namespace cri = ::runtime::v1;

namespace {

// The registries.conf scripts/test-registry.sh writes; REQUIREs the registries to answer.
std::string registries_conf() {
  const char* env = std::getenv("LXE_TEST_REGISTRIES_CONF");
  const std::string conf = env && *env ? env : "/var/lib/lxe-test-registry/registries.conf";
  INFO("the test registries are not running: start them with `scripts/test-registry.sh start` "
       "(scripts/test.sh does)");
  REQUIRE(std::filesystem::exists(conf));
  return conf;
}

const std::string kRegistry = "127.0.0.1:5000";
const std::string kAuthRegistry = "127.0.0.1:5001";

std::vector<std::string> daemon_args() { return {"--registries-conf", registries_conf()}; }

Reply<cri::PullImageResponse> pull(CriFixture& fx, const std::string& ref, const cri::AuthConfig* auth = nullptr,
                                   std::chrono::milliseconds deadline = std::chrono::seconds(120)) {
  return fx.pull_image(ref, auth, deadline);
}

std::string must_pull(CriFixture& fx, const std::string& ref) {
  const auto reply = pull(fx, ref);
  INFO(ref << ": " << describe(reply.status) << "\n" << fx.daemon_log_tail());
  REQUIRE(reply.ok());
  REQUIRE(reply.value.image_ref().rfind("sha256:", 0) == 0);
  return reply.value.image_ref();
}

std::optional<cri::Image> status_of(CriFixture& fx, const std::string& ref) {
  const auto reply = fx.image_status(ref);
  INFO(ref << ": " << describe(reply.status));
  REQUIRE(reply.ok());
  if (!reply.value.has_image()) return std::nullopt;
  return reply.value.image();
}

grpc::Status remove_image(CriFixture& fx, const std::string& ref) { return fx.remove_image(ref); }

std::vector<std::string> tags(const cri::Image& image) { return {image.repo_tags().begin(), image.repo_tags().end()}; }

// The LXD images this fixture's lxe imported.
std::vector<lxe::lxd::Image> pulled_in_lxd(CriFixture& fx) {
  std::vector<lxe::lxd::Image> out;
  for (const auto& image : fx.lxd().list_images()) {
    const auto store = image.properties.find("lxe.store");
    if (store != image.properties.end() && store->second == fx.dir().file("lxe.db")) out.push_back(image);
  }
  return out;
}

bool pull_folders_empty(CriFixture& fx) {
  std::error_code ec;
  const auto root = fx.dir().file("pulls");
  return !std::filesystem::exists(root, ec) || std::filesystem::is_empty(root, ec);
}

// A TCP port that accepts connections and never answers: a registry that hangs.
class SilentServer {
 public:
  SilentServer() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_.get(), 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  int port() const { return port_; }

 private:
  lxe::UniqueFd fd_;  // the kernel completes handshakes; nobody reads
  int port_ = 0;
};

// A port nothing listens on (bound, never listened, closed).
int closed_port() {
  lxe::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

}  // namespace

TEST_CASE("images: pulled by tag, digest and mirror; found by ID, tag and digest; untagged and removed",
          "[images][lxd]") {
  CriFixture fx("imgpull", daemon_args());
  const std::string web1 = kRegistry + "/lxe-test/web:1", web2 = kRegistry + "/lxe-test/web:2";
  const std::string id = must_pull(fx, web1);
  CHECK(must_pull(fx, web2) == id);  // the same image under another tag: one image

  const auto image = status_of(fx, web1);
  REQUIRE(image);
  CHECK(image->id() == id);
  CHECK(tags(*image) == std::vector<std::string>{web1, web2});
  REQUIRE(image->repo_digests_size() == 1);
  const std::string digest_ref = image->repo_digests(0);
  CHECK(digest_ref.rfind(kRegistry + "/lxe-test/web@sha256:", 0) == 0);
  CHECK(image->size() > 1000);
  for (const auto& ref : {id, id.substr(7), id.substr(0, 19), web2, digest_ref}) {
    INFO(ref);
    const auto again = status_of(fx, ref);
    REQUIRE(again);
    CHECK(again->id() == id);
  }
  // By digest: the same image, and its record gains nothing new.
  CHECK(must_pull(fx, digest_ref) == id);

  // In LXD: one unified image, aliased by its image ID under lxe's prefix.
  const auto in_lxd = pulled_in_lxd(fx);
  REQUIRE(in_lxd.size() == 1);
  CHECK(in_lxd[0].properties.at("lxe.image-id") == id);
  REQUIRE(in_lxd[0].aliases.size() == 1);
  CHECK(in_lxd[0].aliases[0].name == lxe::test::run_prefix().substr(0, lxe::test::run_prefix().size() - 1) + "/" + id);

  // ListImages shows it once, with both tags.
  {
    auto ctx = lxe::test::context_with_deadline();
    cri::ListImagesResponse response;
    REQUIRE(fx.images().ListImages(ctx.get(), cri::ListImagesRequest(), &response).ok());
    int seen = 0;
    for (const auto& i : response.images())
      if (i.id() == id) {
        ++seen;
        CHECK(tags(i) == std::vector<std::string>{web1, web2});
      }
    CHECK(seen == 1);
  }

  // docker.io through the registries.conf mirror, in kubelet's and in people's spellings.
  const std::string busybox = must_pull(fx, "docker.io/library/busybox:1.36");
  CHECK(must_pull(fx, "busybox:1.36") == busybox);
  const auto bb = status_of(fx, "busybox:1.36");
  REQUIRE(bb);
  CHECK(tags(*bb) == std::vector<std::string>{"docker.io/library/busybox:1.36"});

  // The image's user, as CRI reports it (critest checks uid and username).
  const auto uid_image = status_of(fx, kRegistry + "/lxe-test/user-uid:1");
  CHECK_FALSE(uid_image);
  must_pull(fx, kRegistry + "/lxe-test/user-uid:1");
  must_pull(fx, kRegistry + "/lxe-test/user-name-group:1");
  CHECK(status_of(fx, kRegistry + "/lxe-test/user-uid:1")->uid().value() == 1002);
  CHECK(status_of(fx, kRegistry + "/lxe-test/user-uid:1")->username().empty());
  CHECK_FALSE(status_of(fx, kRegistry + "/lxe-test/user-name-group:1")->has_uid());
  CHECK(status_of(fx, kRegistry + "/lxe-test/user-name-group:1")->username() == "www-data");

  // RemoveImage: a tag of two untags; the last tag removes the image from LXD.
  REQUIRE(remove_image(fx, web1).ok());
  CHECK_FALSE(status_of(fx, web1));
  REQUIRE(status_of(fx, web2));
  REQUIRE(remove_image(fx, web2).ok());
  CHECK_FALSE(status_of(fx, id));
  CHECK(remove_image(fx, web2).ok());  // idempotent
  for (const auto& ref : {busybox, kRegistry + "/lxe-test/user-uid:1", kRegistry + "/lxe-test/user-name-group:1"})
    REQUIRE(remove_image(fx, ref).ok());
  CHECK(pulled_in_lxd(fx).empty());
  CHECK(pull_folders_empty(fx));
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("images: a container of an OCI image runs its entrypoint and cmd with its env, working dir and user",
          "[images][lxd]") {
  CriFixture fx("imgrun", daemon_args());
  const std::string web = kRegistry + "/lxe-test/web:1";
  const std::string id = must_pull(fx, web);
  auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);

  // No command: the image's entrypoint and cmd (busybox httpd -f -p 8080) in its working dir.
  auto server = CriFixture::container_config("server", {});
  server.mutable_image()->set_image(web);
  auto* env = server.add_envs();
  env->set_key("EXTRA");
  env->set_value("from-pod");
  const std::string server_id = fx.must_run_container(pod_id, server, pod);
  const auto shown = fx.exec(server_id, {"sh", "-c", "echo $GREETING $EXTRA; pwd; cat /proc/1/cmdline /proc/*/cmdline | tr '\\0' ' '"});
  INFO(describe(shown.status) << " " << shown.value.stdout() << shown.value.stderr());
  REQUIRE(shown.ok());
  CHECK(shown.value.stdout().find("hello-from-image from-pod\n/srv/www\n") == 0);
  CHECK(shown.value.stdout().find("/bin/busybox httpd -f -p 8080") != std::string::npos);
  // It serves its index page: the image's files and the process both work.
  std::string page;
  for (int i = 0; i < 50 && page.find("lxe image web server") == std::string::npos; ++i) {
    page = fx.exec(server_id, {"wget", "-qO-", "http://127.0.0.1:8080/"}).value.stdout();
    if (page.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(page.find("lxe image web server") != std::string::npos);
  CHECK(fx.container_status(server_id).value.image_ref() == id);
  CHECK(fx.container_status(server_id).value.image_id() == id);

  // args alone replace cmd and keep the entrypoint.
  auto other_port = CriFixture::container_config("port", {});
  other_port.mutable_image()->set_image(web);
  other_port.add_args("-p");
  other_port.add_args("9090");
  const std::string port_id = fx.must_run_container(pod_id, other_port, pod);
  const auto procs = fx.exec(port_id, {"sh", "-c", "cat /proc/*/cmdline | tr '\\0' ' '"});
  CHECK(procs.value.stdout().find("/bin/busybox httpd -f -p 9090") != std::string::npos);

  // The image's user, by name from its /etc/passwd.
  must_pull(fx, kRegistry + "/lxe-test/user-name:1");
  auto as_user = CriFixture::container_config("user", {"sleep", "3600"});
  as_user.mutable_image()->set_image(kRegistry + "/lxe-test/user-name:1");
  const std::string user_id = fx.must_run_container(pod_id, as_user, pod);
  const auto ids = fx.exec(user_id, {"id"});
  CHECK(ids.value.stdout().find("uid=33(www-data) gid=33(www-data)") == 0);

  // In use: RemoveImage refuses; once its containers are gone it removes.
  CHECK(remove_image(fx, id).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(status_of(fx, id));
  for (const auto& c : {server_id, port_id}) {
    REQUIRE(fx.stop(c).ok());
    REQUIRE(fx.remove(c).ok());
  }
  CHECK(remove_image(fx, id).ok());
  CHECK_FALSE(status_of(fx, id));
  REQUIRE(fx.stop(user_id).ok());
  REQUIRE(fx.remove(user_id).ok());
  CHECK(remove_image(fx, kRegistry + "/lxe-test/user-name:1").ok());
  CHECK(pulled_in_lxd(fx).empty());
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("images: bad references, refusing, lacking and silent registries get precise errors and leave nothing",
          "[images][lxd]") {
  CriFixture fx("imgbad", daemon_args());
  const auto code_of = [&](const std::string& ref, const cri::AuthConfig* auth = nullptr,
                           std::chrono::milliseconds deadline = std::chrono::seconds(60)) {
    const auto reply = pull(fx, ref, auth, deadline);
    INFO(ref << ": " << describe(reply.status));
    CHECK_FALSE(reply.ok());
    return reply.status;
  };
  CHECK(code_of("Bad//Reference").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(code_of("busybox@sha256:abc").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(code_of(kRegistry + "/lxe-test/web:no-such-tag").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(code_of(kRegistry + "/lxe-test/no-such-repo:1").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(code_of("docker.io/library/busybox:no-such-tag").error_code() == grpc::StatusCode::NOT_FOUND);

  // Credentials: none or wrong ones are refused, naming the registry; the right ones pull.
  const std::string private_web = kAuthRegistry + "/lxe-test/web:1";
  const auto anonymous = code_of(private_web);
  CHECK(anonymous.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(anonymous.error_message(), Catch::Contains(kAuthRegistry));
  cri::AuthConfig auth;
  auth.set_username("lxe-user");
  auth.set_password("wrong");
  const auto wrong = code_of(private_web, &auth);
  CHECK(wrong.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(wrong.error_message(), Catch::Contains(kAuthRegistry));
  auth.set_password("lxe-secret");
  const auto right = pull(fx, private_web, &auth);
  INFO(describe(right.status));
  REQUIRE(right.ok());
  // The secret never reaches a file: lxe's folder holds none of it.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(fx.dir().path())) {
    if (!entry.is_regular_file() || entry.path().filename() == "lxe.stderr" || entry.path().filename() == "lxe.stdout")
      continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(entry.path());
    CHECK(text.find("lxe-secret") == std::string::npos);
  }
  REQUIRE(remove_image(fx, right.value.image_ref()).ok());

  // Nothing listens: UNAVAILABLE. A registry that never answers: the caller's deadline holds.
  CHECK(code_of("127.0.0.1:" + std::to_string(closed_port()) + "/x/y:1").error_code() ==
        grpc::StatusCode::UNAVAILABLE);
  SilentServer silent;
  const auto hung = code_of("127.0.0.1:" + std::to_string(silent.port()) + "/x/y:1", nullptr, std::chrono::seconds(3));
  CHECK((hung.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         hung.error_code() == grpc::StatusCode::UNAVAILABLE));

  // CreateContainer of an image never pulled: NOT_FOUND, saying to pull it.
  auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  auto config = CriFixture::container_config("c", {"sleep", "1"});
  config.mutable_image()->set_image(kRegistry + "/lxe-test/other:1");
  const auto created = fx.create_container(pod_id, config, pod);
  CHECK(created.code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(created.status.error_message(), Catch::Contains("pull it first"));
  // A group without a user is refused before anything is stored (critest expects it).
  auto group_only = CriFixture::container_config("g", {"sleep", "1"});
  group_only.mutable_linux()->mutable_security_context()->mutable_run_as_group()->set_value(1000);
  const auto refused = fx.create_container(pod_id, group_only, pod);
  CHECK(refused.code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(refused.status.error_message(), Catch::Contains("run_as_group is set without run_as_user"));
  CHECK(fx.list_containers().empty());

  // None of it left an image or a work folder behind.
  CHECK(pulled_in_lxd(fx).empty());
  CHECK(pull_folders_empty(fx));
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("images: concurrent pulls of one image give one image", "[images][lxd]") {
  CriFixture fx("imgmany", daemon_args());
  const std::string ref = kRegistry + "/lxe-test/other:1";
  std::vector<std::thread> threads;
  std::vector<std::string> ids(4);
  std::vector<grpc::Status> statuses(4);
  for (size_t i = 0; i < ids.size(); ++i)
    threads.emplace_back([&, i] {
      const auto reply = pull(fx, ref);
      statuses[i] = reply.status;
      ids[i] = reply.value.image_ref();
    });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < ids.size(); ++i) {
    INFO(describe(statuses[i]));
    CHECK(statuses[i].ok());
    CHECK(ids[i] == ids[0]);
  }
  CHECK(pulled_in_lxd(fx).size() == 1);
  REQUIRE(remove_image(fx, ref).ok());
  CHECK(pulled_in_lxd(fx).empty());
  fx.remove_all_pods_and_expect_clean();
}
