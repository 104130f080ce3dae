// The pieces of an OCI pull that need no registry: reading an OCI layout, the in-memory auth
// file, LXD's architecture names and metadata.yaml, digests, and how skopeo's failures are read
// (the messages are skopeo 1.9.3's, as it printed them against the test registries).
#include <catch2/catch.hpp>

#include <filesystem>

#include "images/oci_fetch.h"
#include "images/pull_error.h"
#include "support/temp_dir.h"

using lxe::images::PullError;

namespace {

void write_blob(const std::string& dir, const std::string& content, std::string& digest) {
  digest = lxe::images::sha256_digest(content);
  std::filesystem::create_directories(dir + "/blobs/sha256");
  lxe::test::write_file(dir + "/blobs/sha256/" + digest.substr(7), content);
}

}  // namespace

TEST_CASE("oci fetch: sha256 digests", "[images]") {
  CHECK(lxe::images::sha256_digest("") ==
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(lxe::images::sha256_digest("abc") ==
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("oci fetch: an OCI layout's image, config and size", "[images]") {
  lxe::test::TempDir dir;
  std::string config_digest, layer_digest, manifest_digest;
  const std::string config = R"({"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]}})";
  write_blob(dir.path(), config, config_digest);
  write_blob(dir.path(), "layer bytes", layer_digest);
  const nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"config", {{"digest", config_digest}, {"size", config.size()}}},
      {"layers", {{{"digest", layer_digest}, {"size", 11}}, {{"digest", layer_digest}, {"size", 100}}}}};
  write_blob(dir.path(), manifest.dump(), manifest_digest);
  lxe::test::write_file(dir.file("index.json"),
                        nlohmann::json{{"schemaVersion", 2},
                                       {"manifests",
                                        {{{"digest", manifest_digest},
                                          {"annotations", {{"org.opencontainers.image.ref.name", "image"}}}}}}}
                            .dump());
  const auto image = lxe::images::read_oci_layout(dir.path(), "image");
  CHECK(image.manifest_digest == manifest_digest);
  CHECK(image.config_digest == config_digest);
  CHECK(image.size == static_cast<int64_t>(config.size()) + 111);
  CHECK(image.config.at("config").at("Cmd")[0] == "sh");
  CHECK_THROWS_WITH(lxe::images::read_oci_layout(dir.path(), "other"), Catch::Contains("no image tagged other"));

  SECTION("a digest that would leave the blobs folder is refused") {
    lxe::test::write_file(dir.file("index.json"),
                          R"({"manifests":[{"digest":"sha256:../../etc/passwd","annotations":{"org.opencontainers.image.ref.name":"image"}}]})");
    CHECK_THROWS_WITH(lxe::images::read_oci_layout(dir.path(), "image"), Catch::Contains("malformed digest"));
  }
}

TEST_CASE("oci fetch: the auth file handed to skopeo", "[images]") {
  lxe::images::RegistryAuth auth;
  auth.username = "lxe-user";
  auth.password = "lxe-secret";
  auto json = nlohmann::json::parse(lxe::images::authfile_json(auth, "127.0.0.1:5001"));
  CHECK(json["auths"]["127.0.0.1:5001"]["auth"] == "bHhlLXVzZXI6bHhlLXNlY3JldA==");  // base64 of user:secret

  auth = {};
  auth.auth = "cHJlOmVuY29kZWQ=";
  auth.identity_token = "id-token";
  auth.server_address = "https://index.docker.io/v1/";
  json = nlohmann::json::parse(lxe::images::authfile_json(auth, "docker.io"));
  CHECK(json["auths"]["docker.io"]["auth"] == "cHJlOmVuY29kZWQ=");
  CHECK(json["auths"]["docker.io"]["identitytoken"] == "id-token");
  CHECK(json["auths"]["index.docker.io"]["auth"] == "cHJlOmVuY29kZWQ=");
  CHECK(lxe::images::RegistryAuth{}.empty());
}

TEST_CASE("oci fetch: LXD's names and metadata", "[images]") {
  CHECK(lxe::images::lxd_architecture("amd64") == "x86_64");
  CHECK(lxe::images::lxd_architecture("arm64") == "aarch64");
  CHECK(lxe::images::lxd_architecture("mips64le").empty());
  CHECK(lxe::images::metadata_yaml("x86_64", 1704067200, "docker.io/library/busybox@sha256:x") ==
        "architecture: x86_64\ncreation_date: 1704067200\nproperties:\n  description: "
        "\"docker.io/library/busybox@sha256:x\"\n");
}

TEST_CASE("pull errors: skopeo's failures, classified and cleaned", "[images]") {
  using Kind = PullError::Kind;
  const std::string wrong_creds =
      R"(time="2026-12-03T09:47:42Z" level=fatal msg="Error parsing image name \"docker://127.0.0.1:5001/lxe-test/web:1\": reading manifest 1 in 127.0.0.1:5001/lxe-test/web: unauthorized: authentication required")";
  CHECK(lxe::images::skopeo_message(wrong_creds) ==
        "reading manifest 1 in 127.0.0.1:5001/lxe-test/web: unauthorized: authentication required");
  CHECK(lxe::images::classify_skopeo_failure(wrong_creds) == Kind::Unauthorized);

  const std::string unknown =
      R"(time="x" level=fatal msg="initializing source docker://127.0.0.1:5000/busybox:nope: reading manifest nope in 127.0.0.1:5000/busybox: manifest unknown: manifest unknown")";
  CHECK(lxe::images::skopeo_message(unknown) ==
        "reading manifest nope in 127.0.0.1:5000/busybox: manifest unknown: manifest unknown");
  CHECK(lxe::images::classify_skopeo_failure(unknown) == Kind::NotFound);

  CHECK(lxe::images::classify_skopeo_failure(
            R"(pinging container registry 127.0.0.1:5009: Get "https://127.0.0.1:5009/v2/": dial tcp 127.0.0.1:5009: connect: connection refused)") ==
        Kind::Unavailable);
  // Through a mirror that lacks the tag, the fallback to the real registry fails too (offline):
  // what matters is that the image is not there.
  CHECK(lxe::images::classify_skopeo_failure(
            R"((Mirrors also failed: [127.0.0.1:5000/library/busybox:nope: reading manifest nope in 127.0.0.1:5000/library/busybox: manifest unknown: manifest unknown]): docker.io/library/busybox:nope: pinging container registry registry-1.docker.io: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host)") ==
        Kind::NotFound);
  CHECK(lxe::images::classify_skopeo_failure(
            R"(pinging container registry 127.0.0.1:5002: Get "https://127.0.0.1:5002/v2/": x509: certificate signed by unknown authority)") ==
        Kind::Failed);
  CHECK(lxe::images::skopeo_message("plain text\n") == "plain text");
}
