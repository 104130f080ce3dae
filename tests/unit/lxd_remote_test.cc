// LXD image references and the image servers of lxc's config: which names are LXD references
// (the documented rule), and the remotes read from config.yml with their certificates.
#include <catch2/catch.hpp>

#include <filesystem>

#include "daemon/lxd_remote_config.h"
#include "images/lxd_remote.h"
#include "support/temp_dir.h"

using lxe::images::LxdRemote;
using lxe::images::LxdRemotes;
using lxe::images::parse_lxd_image_ref;

TEST_CASE("lxd image references: a configured remote wins, built-in ones only where OCI cannot read it",
          "[images]") {
  const LxdRemotes configured = {{"lxetest", {"lxetest", "https://127.0.0.1:8443", "simplestreams", "PEM"}},
                                 {"ubuntu", {"ubuntu", "https://mirror.example/ubuntu", "simplestreams", ""}}};
  auto ref = parse_lxd_image_ref("lxetest:busybox/1.36", configured);
  REQUIRE(ref);
  CHECK(ref->remote.addr == "https://127.0.0.1:8443");
  CHECK(ref->remote.certificate == "PEM");
  CHECK(ref->image == "busybox/1.36");

  // A configured remote takes even what would be an OCI reference (docker.io/library/ubuntu:22.04).
  ref = parse_lxd_image_ref("ubuntu:22.04", configured);
  REQUIRE(ref);
  CHECK(ref->remote.addr == "https://mirror.example/ubuntu");
  CHECK(ref->image == "22.04");

  // Without it, "ubuntu:22.04" is docker.io's ubuntu; "images:alpine/3.19" cannot be an OCI
  // reference (a tag has no '/'), so lxc's built-in "images" remote is meant.
  CHECK_FALSE(parse_lxd_image_ref("ubuntu:22.04", {}));
  ref = parse_lxd_image_ref("images:alpine/3.19", {});
  REQUIRE(ref);
  CHECK(ref->remote.addr == "https://images.linuxcontainers.org");
  CHECK(ref->remote.protocol == "simplestreams");
  ref = parse_lxd_image_ref("ubuntu-daily:noble/amd64", {});
  REQUIRE(ref);
  CHECK(ref->remote.name == "ubuntu-daily");

  // Not LXD references.
  for (const std::string other : {"busybox", "busybox:1.36", "127.0.0.1:5000/busybox:1.36", "localhost:5000/x",
                                  "lxetest:", ":alias", "nowhere:a/b", "docker.io/library/busybox:latest"}) {
    INFO(other);
    CHECK_FALSE(parse_lxd_image_ref(other, configured));
  }
}

TEST_CASE("lxd remote config: the image servers, with their certificates", "[flags]") {
  lxe::test::TempDir dir;
  std::filesystem::create_directories(dir.file("servercerts"));
  lxe::test::write_file(dir.file("servercerts/lxetest.crt"), "-----BEGIN CERTIFICATE-----\nx\n");
  const std::string config =
      "default-remote: local\n"
      "remotes:\n"
      "  local:\n    addr: unix://\n"
      "  lxetest:\n    addr: https://127.0.0.1:8443\n    protocol: simplestreams\n    public: true\n"
      "  cluster:\n    addr: https://10.0.0.1:8443\n"
      "  weird:\n    addr: https://w\n    protocol: oci\n";
  lxe::test::write_file(dir.file("config.yml"), config);
  const auto got = lxe::daemon::lxd_remotes_from_config(dir.file("config.yml"));
  REQUIRE(std::holds_alternative<LxdRemotes>(got));
  const auto& remotes = std::get<LxdRemotes>(got);
  CHECK(remotes.size() == 2);  // not the unix socket, not an unknown protocol
  CHECK(remotes.at("lxetest").protocol == "simplestreams");
  CHECK(remotes.at("lxetest").certificate == "-----BEGIN CERTIFICATE-----\nx\n");
  CHECK(remotes.at("cluster").protocol == "lxd");  // lxc's default protocol
  CHECK(remotes.at("cluster").certificate.empty());

  const auto bad = lxe::daemon::lxd_remotes_from_config_text("remotes: [1]\n", "c.yml");
  REQUIRE(std::holds_alternative<lxe::daemon::RemoteConfigError>(bad));
  CHECK_THAT(std::get<lxe::daemon::RemoteConfigError>(bad).message, Catch::Contains("not a mapping"));
  CHECK(std::holds_alternative<lxe::daemon::RemoteConfigError>(lxe::daemon::lxd_remotes_from_config(dir.file("nope.yml"))));
}
