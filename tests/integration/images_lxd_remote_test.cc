// Pulling LXD images from an image server named in lxc's config: the loopback simplestreams
// server (scripts/test-simplestreams.sh, started by scripts/test.sh) over HTTPS with a
// self-signed certificate that the config's servercerts/ holds.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "support/cri_fixture.h"
#include "support/test_lxd.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

// An lxc config.yml in `dir` naming the test server "lxetest" (and a remote nobody serves).
std::string write_lxc_config(const lxe::test::TempDir& dir, int closed_port) {
  const std::string url = env_or("LXE_TEST_SIMPLESTREAMS_URL", "https://127.0.0.1:8443");
  const std::string cert = env_or("LXE_TEST_SIMPLESTREAMS_CERT", "/var/lib/lxe-test-simplestreams/tls/cert.pem");
  INFO("the test simplestreams server is not running: start it with `scripts/test-simplestreams.sh start` "
       "(scripts/test.sh does)");
  REQUIRE(std::filesystem::exists(cert));
  std::filesystem::create_directories(dir.file("lxc/servercerts"));
  std::filesystem::copy_file(cert, dir.file("lxc/servercerts/lxetest.crt"));
  std::filesystem::copy_file(cert, dir.file("lxc/servercerts/gone.crt"));
  std::ofstream(dir.file("lxc/config.yml"))
      << "default-remote: local\nremotes:\n  local:\n    addr: unix://\n"
      << "  lxetest:\n    addr: " << url << "\n    protocol: simplestreams\n    public: true\n"
      << "  gone:\n    addr: https://127.0.0.1:" << closed_port << "\n    protocol: simplestreams\n    public: true\n";
  return dir.file("lxc/config.yml");
}

lxe::test::Reply<cri::PullImageResponse> pull(CriFixture& fx, const std::string& ref) { return fx.pull_image(ref); }
grpc::Status remove_image(CriFixture& fx, const std::string& ref) { return fx.remove_image(ref); }

}  // namespace

TEST_CASE("images: LXD images pulled from a simplestreams remote of lxc's config", "[images][lxd]") {
  lxe::test::TempDir config_dir;
  const std::string config = write_lxc_config(config_dir, 1);  // port 1: nothing listens
  CriFixture fx("imglxd", {"--lxd-remote-config", config});
  const std::string fingerprint =
      env_or("LXE_TEST_SIMPLESTREAMS_FP_1_36", "5f2546a4af44ccbd4420927748e0e3f72abe33a12c011bcfdfcaa4b29fd5af14");

  const auto pulled = pull(fx, "lxetest:busybox/1.36");
  INFO(describe(pulled.status) << "\n" << fx.daemon_log_tail());
  REQUIRE(pulled.ok());
  CHECK(pulled.value.image_ref() == "sha256:" + fingerprint);
  // Another alias of the same image: the same image, a second name.
  REQUIRE(pull(fx, "lxetest:busybox").ok());

  auto ctx = lxe::test::context_with_deadline();
  cri::ImageStatusRequest status_request;
  status_request.mutable_image()->set_image("lxetest:busybox/1.36");
  cri::ImageStatusResponse status;
  REQUIRE(fx.images().ImageStatus(ctx.get(), status_request, &status).ok());
  REQUIRE(status.has_image());
  CHECK(status.image().id() == "sha256:" + fingerprint);
  CHECK(std::vector<std::string>(status.image().repo_tags().begin(), status.image().repo_tags().end()) ==
        std::vector<std::string>{"lxetest:busybox/1.36", "lxetest:busybox"});
  CHECK(status.image().size() > 0);
  const auto image = fx.lxd().get_image(fingerprint);
  CHECK(image.properties.at("lxe.image-id") == "sha256:" + fingerprint);
  CHECK(image.properties.at("lxe.pulled-from") == "lxetest:busybox/1.36");

  // A container of it runs (an LXD image: with a command, under lxe-init).
  auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  auto c = CriFixture::container_config("c", {"sleep", "3600"});
  c.mutable_image()->set_image("lxetest:busybox/1.36");
  const std::string id = fx.must_run_container(pod_id, c, pod);
  const auto release = fx.exec(id, {"cat", "/etc/os-release"});
  CHECK(release.value.stdout().find("1.36") != std::string::npos);
  CHECK(fx.container_status(id).value.image_ref() == "sha256:" + fingerprint);
  CHECK(remove_image(fx, "lxetest:busybox").ok());  // untag only
  CHECK(remove_image(fx, "sha256:" + fingerprint).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(fx.stop(id).ok());
  REQUIRE(fx.remove(id).ok());
  CHECK(remove_image(fx, "lxetest:busybox/1.36").ok());
  CHECK_THROWS(fx.lxd().get_image(fingerprint));

  // Failures: an alias the server lacks, a remote that does not answer.
  const auto missing = pull(fx, "lxetest:nothing/here");
  INFO(describe(missing.status));
  CHECK(missing.code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(missing.status.error_message(), Catch::Contains("couldn't be found"));
  const auto gone = pull(fx, "gone:busybox");
  INFO(describe(gone.status));
  CHECK(gone.code() == grpc::StatusCode::UNAVAILABLE);
  fx.remove_all_pods_and_expect_clean();
}
