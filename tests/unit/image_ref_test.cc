// Image references, normalised as kubelet and containerd do (the distribution grammar, docker.io's
// defaults), and the references that are refused.
#include <catch2/catch.hpp>

#include "model/image_ref.h"

using lxe::model::ImageRef;
using lxe::model::parse_image_ref;

namespace {

ImageRef parsed(const std::string& text) {
  auto result = parse_image_ref(text);
  if (auto* problem = std::get_if<std::string>(&result)) FAIL(text << ": " << *problem);
  return std::get<ImageRef>(result);
}

std::string problem(const std::string& text) {
  auto result = parse_image_ref(text);
  if (std::holds_alternative<ImageRef>(result)) FAIL(text << " was accepted as " << std::get<ImageRef>(result).to_string());
  return std::get<std::string>(result);
}

const std::string kDigest = "sha256:" + std::string(64, 'a');

}  // namespace

TEST_CASE("image references: docker's defaults", "[image-ref]") {
  const struct {
    std::string in, normalised, familiar;
  } cases[] = {
      {"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
      {"library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"index.docker.io/library/busybox:1", "docker.io/library/busybox:1", "busybox:1"},
      {"bitnami/postgresql:16", "docker.io/bitnami/postgresql:16", "bitnami/postgresql:16"},
      {"registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9"},
      {"registry.k8s.io/e2e-test-images/busybox:1.29-2", "registry.k8s.io/e2e-test-images/busybox:1.29-2",
       "registry.k8s.io/e2e-test-images/busybox:1.29-2"},
      {"localhost/app", "localhost/app:latest", "localhost/app:latest"},
      {"127.0.0.1:5000/busybox:1.36", "127.0.0.1:5000/busybox:1.36", "127.0.0.1:5000/busybox:1.36"},
      {"[::1]:5000/web", "[::1]:5000/web:latest", "[::1]:5000/web:latest"},
      {"gcr.io/k8s-staging-cri-tools/hostnet-nginx-amd64", "gcr.io/k8s-staging-cri-tools/hostnet-nginx-amd64:latest",
       "gcr.io/k8s-staging-cri-tools/hostnet-nginx-amd64:latest"},
      {"my_app__x-z---w/a.b", "docker.io/my_app__x-z---w/a.b:latest", "my_app__x-z---w/a.b:latest"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    const ImageRef ref = parsed(c.in);
    CHECK(ref.to_string() == c.normalised);
    CHECK(ref.familiar() == c.familiar);
  }
  const ImageRef ported = parsed("registry.example.com:443/team/app:v1");
  CHECK(ported.domain == "registry.example.com:443");
  CHECK(ported.path == "team/app");
  CHECK(ported.tag == "v1");
  CHECK(ported.repository() == "registry.example.com:443/team/app");
}

TEST_CASE("image references: digests, with and without a tag", "[image-ref]") {
  const ImageRef pinned = parsed("docker.io/library/postgres@" + kDigest);
  CHECK(pinned.tag.empty());
  CHECK(pinned.digest == kDigest);
  CHECK(pinned.to_string() == "docker.io/library/postgres@" + kDigest);
  CHECK(pinned.familiar() == "postgres@" + kDigest);
  const ImageRef both = parsed("postgres:16@" + kDigest);
  CHECK(both.tag == "16");
  CHECK(both.to_string() == "docker.io/library/postgres:16@" + kDigest);
}

TEST_CASE("image references: malformed ones are refused with the reason", "[image-ref]") {
  CHECK_THAT(problem(""), Catch::Contains("empty"));
  CHECK_THAT(problem(std::string(64, 'b')), Catch::Contains("image ID"));
  CHECK_THAT(problem("Busybox"), Catch::Contains("lower case"));
  CHECK_THAT(problem("docker.io/Library/busybox"), Catch::Contains("lower case"));
  CHECK_THAT(problem("busybox:"), Catch::Contains("tag ''"));
  CHECK_THAT(problem("busybox:-bad"), Catch::Contains("tag '-bad'"));
  CHECK_THAT(problem("busybox:" + std::string(129, 'a')), Catch::Contains("is not valid"));
  CHECK_THAT(problem("busybox@sha256:abc"), Catch::Contains("64 lower-case hex"));
  CHECK_THAT(problem("busybox@sha256:" + std::string(64, 'A')), Catch::Contains("64 lower-case hex"));
  CHECK_THAT(problem("busybox@nodigest"), Catch::Contains("<algorithm>:<hex>"));
  CHECK_THAT(problem("a//b"), Catch::Contains("repository name part"));
  CHECK_THAT(problem("a/-b"), Catch::Contains("repository name part"));
  CHECK_THAT(problem("a/b_"), Catch::Contains("repository name part"));
  CHECK_THAT(problem("a/b___c"), Catch::Contains("repository name part"));
  CHECK_THAT(problem("bad_host.example.com/x"), Catch::Contains("registry"));
  CHECK_THAT(problem("host.example.com:port/x"), Catch::Contains("registry"));
  CHECK_THAT(problem(":5000/x"), Catch::Contains("registry"));
  CHECK_THAT(problem("busy box"), Catch::Contains("whitespace or a control character"));
  CHECK_THAT(problem(std::string("busybox\0:1", 10)), Catch::Contains("control character"));
  CHECK_THAT(problem("busybox\n"), Catch::Contains("control character"));
  CHECK_THAT(problem(":latest"), Catch::Contains("names no repository"));
  CHECK_THAT(problem(std::string(256, 'a')), Catch::Contains("longer than 255"));
}
