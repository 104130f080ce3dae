// OCI image references as kubelet and containerd read them: the distribution reference grammar
// (domain, path, tag, digest), normalised the docker way ("busybox" is
// "docker.io/library/busybox:latest"). Pure; the image service builds on it.
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace lxe::model {

struct ImageRef {
  std::string domain;  // "docker.io", "registry.k8s.io", "127.0.0.1:5000", "[::1]:5000"
  std::string path;    // "library/busybox", "e2e-test-images/busybox"
  std::string tag;     // "" with a digest and no tag
  std::string digest;  // "sha256:<64 hex>" or ""

  // domain/path: the repository.
  std::string repository() const;
  // The normalised reference: repository, then ":tag" and "@digest" where set.
  std::string to_string() const;
  // What people type for it: "busybox:latest" rather than "docker.io/library/busybox:latest".
  std::string familiar() const;
};

// Parses and normalises `text`: a domain only when the first path element has a '.' or a ':',
// or is "localhost", or has upper case letters; docker.io's repositories of one element get
// "library/"; neither tag nor digest means ":latest". Returns why `text` is no reference, in a
// phrase for an INVALID_ARGUMENT message. A bare 64-digit hex string is an image ID, not a
// reference (refused here, as by containerd).
std::variant<ImageRef, std::string> parse_image_ref(std::string_view text);

}  // namespace lxe::model
