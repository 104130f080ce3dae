// LXD image references ("remote:alias", "remote:fingerprint") and the image servers they name, as
// lxc's client configuration lists them. Pure.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace lxe::images {

// An image server LXD can download from.
struct LxdRemote {
  std::string name;
  std::string addr;      // "https://images.example.org"
  std::string protocol;  // "simplestreams" or "lxd"
  std::string certificate;  // PEM, from lxc's servercerts/<name>.crt; "" = the system's CAs
};

using LxdRemotes = std::map<std::string, LxdRemote>;

// lxc's built-in public remotes (LXD 5.0's lxc): "images" (images.linuxcontainers.org),
// "ubuntu" and "ubuntu-daily" (cloud-images.ubuntu.com), all simplestreams.
const LxdRemotes& builtin_remotes();

struct LxdImageRef {
  LxdRemote remote;
  std::string image;  // the remote's alias ("alpine/3.19", "22.04") or a fingerprint
};

// Which references are LXD ones (docs/operating.md, "Which image a name means"): "<remote>:<image>"
// where <remote> is a remote of lxc's config (`configured`), whatever the rest is; or one of lxc's
// built-in remotes when the whole is no OCI reference ("images:alpine/3.19" is one, because an OCI
// tag has no '/'; "ubuntu:22.04" is docker.io's ubuntu unless the config lists a remote "ubuntu").
// nullopt: not an LXD reference.
std::optional<LxdImageRef> parse_lxd_image_ref(const std::string& ref, const LxdRemotes& configured);

}  // namespace lxe::images
