// ImageService over LXD's local images (an operator's, imported with lxc): found by alias in
// kubelet's spellings, never pulled from a registry, never deleted by lxe. Registry pulls are
// images_registry_test.cc's.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "common/filesystems.h"
#include "support/cri_fixture.h"
#include "support/test_lxd.h"

using lxe::test::CriFixture;
using lxe::test::describe;
using lxe::test::Reply;
namespace cri = ::runtime::v1;

namespace {

Reply<cri::ImageStatusResponse> image_status(CriFixture& fx, const std::string& ref) { return fx.image_status(ref); }
Reply<cri::PullImageResponse> pull(CriFixture& fx, const std::string& ref) { return fx.pull_image(ref); }
grpc::Status remove_image(CriFixture& fx, const std::string& ref) { return fx.remove_image(ref); }

}  // namespace

TEST_CASE("lifecycle: ImageService lists, finds, pulls and refuses to remove LXD's images", "[lifecycle][lxd]") {
  const char* conf = std::getenv("LXE_TEST_REGISTRIES_CONF");
  CriFixture fx("img", {"--registries-conf", conf && *conf ? conf : "/var/lib/lxe-test-registry/registries.conf"});
  const std::string busybox_fp = fx.lxd().get_image(fx.lxd().get_image_alias("busybox").target).fingerprint;
  REQUIRE_FALSE(busybox_fp.empty());
  const std::string busybox_id = "sha256:" + busybox_fp;

  // ListImages: busybox with its alias as a repo tag ("busybox", or "busybox:latest" as crictl shows it).
  {
    auto ctx = lxe::test::context_with_deadline();
    cri::ListImagesResponse response;
    const auto status = fx.images().ListImages(ctx.get(), cri::ListImagesRequest(), &response);
    INFO(describe(status));
    REQUIRE(status.ok());
    bool found = false;
    std::string listed;
    for (const auto& image : response.images()) {
      listed += " " + image.id() + " [";
      for (const auto& tag : image.repo_tags()) listed += " " + tag;
      listed += " ]";
      for (const auto& tag : image.repo_tags()) {
        if (tag != "busybox" && tag != "busybox:latest") continue;
        found = true;
        CHECK(image.id() == busybox_id);
        CHECK(image.size() > 0);
      }
    }
    INFO("listed:" << listed);
    CHECK(found);
  }
  // ListImages with a filter: just that image.
  {
    auto ctx = lxe::test::context_with_deadline();
    cri::ListImagesRequest request;
    request.mutable_filter()->mutable_image()->set_image("busybox");
    cri::ListImagesResponse response;
    REQUIRE(fx.images().ListImages(ctx.get(), request, &response).ok());
    REQUIRE(response.images_size() == 1);
    CHECK(response.images(0).id() == busybox_id);
  }

  // ImageStatus: by alias, by the name kubelet normalises to, by ID; a missing image is an empty
  // answer, not an error.
  for (const std::string& ref : std::vector<std::string>{"busybox", "busybox:latest", "docker.io/library/busybox:latest",
                                                         "docker.io/busybox", "index.docker.io/library/busybox:latest",
                                                         busybox_id}) {
    const auto r = image_status(fx, ref);
    INFO("ImageStatus " << ref << ": " << describe(r.status));
    REQUIRE(r.ok());
    REQUIRE(r.value.has_image());
    CHECK(r.value.image().id() == busybox_id);
  }
  for (const std::string& ref : std::vector<std::string>{"lxe-test-no-such-image", "registry.example.com/team/no-such:1.0",
                                "lxe-test-no-such-image:latest"}) {
    const auto r = image_status(fx, ref);
    INFO("ImageStatus " << ref << ": " << describe(r.status));
    CHECK(r.ok());
    CHECK_FALSE(r.value.has_image());
  }

  // An alias made with ":latest" answers for the name without a tag, as kubelet means the same.
  {
    const std::string name = "registry.example.com/" + lxe::test::test_name("web");
    fx.lxd().request("POST", "/1.0/images/aliases", nlohmann::json{{"name", name + ":latest"}, {"target", busybox_fp}});
    struct AliasCleanup {
      const CriFixture& fx;
      std::string alias;
      ~AliasCleanup() {
        try {
          fx.lxd().request("DELETE", "/1.0/images/aliases/" + alias);
        } catch (const std::exception&) {
        }
      }
    } cleanup{fx, name + ":latest"};
    const auto r = image_status(fx, name);
    INFO(describe(r.status));
    REQUIRE(r.ok());
    REQUIRE(r.value.has_image());
    CHECK(r.value.image().id() == busybox_id);
  }

  // PullImage: finds the local image; pulls nothing from anywhere. A name LXD does not have goes
  // to its registry (docker.io, mirrored to the loopback test registry, which lacks it).
  {
    const auto r = pull(fx, "docker.io/library/busybox:latest");
    INFO(describe(r.status));
    REQUIRE(r.ok());
    CHECK(r.value.image_ref() == busybox_id);
  }
  {
    const auto r = pull(fx, "lxe-test-no-such-image");
    INFO(describe(r.status));
    CHECK(r.code() == grpc::StatusCode::NOT_FOUND);
  }

  // RemoveImage: a missing image is already removed; busybox is not lxe's to delete.
  {
    const auto status = remove_image(fx, "lxe-test-no-such-image");
    INFO(describe(status));
    CHECK(status.ok());
  }
  {
    const auto status = remove_image(fx, "busybox");
    INFO(describe(status));
    CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(image_status(fx, "busybox").value.has_image());
  }

  // ImageFsInfo: one filesystem, with a mountpoint and usage.
  {
    auto ctx = lxe::test::context_with_deadline();
    cri::ImageFsInfoResponse response;
    const auto status = fx.images().ImageFsInfo(ctx.get(), cri::ImageFsInfoRequest(), &response);
    INFO(describe(status));
    REQUIRE(status.ok());
    REQUIRE(response.image_filesystems_size() == 1);
    const auto& fs = response.image_filesystems(0);
    // The mount point that holds LXD's image folder (kubelet's cadvisor looks its capacity up).
    const auto images_dir = std::filesystem::path(lxe::test::lxd_socket_path()).parent_path() / "images";
    CHECK(fs.fs_id().mountpoint() == lxe::mount_point_of(images_dir.string()));
    CHECK(fs.timestamp() > 0);
    CHECK(fs.has_used_bytes());
    CHECK(fs.used_bytes().value() > 0);
    CHECK(fs.has_inodes_used());
  }

  fx.expect_lxd_clean();
}
