#include "images/lxd_remote.h"

#include "model/image_ref.h"

namespace lxe::images {

const LxdRemotes& builtin_remotes() {
  static const LxdRemotes remotes = {
      {"images", {"images", "https://images.linuxcontainers.org", "simplestreams", ""}},
      {"ubuntu", {"ubuntu", "https://cloud-images.ubuntu.com/releases", "simplestreams", ""}},
      {"ubuntu-daily", {"ubuntu-daily", "https://cloud-images.ubuntu.com/daily", "simplestreams", ""}},
  };
  return remotes;
}

std::optional<LxdImageRef> parse_lxd_image_ref(const std::string& ref, const LxdRemotes& configured) {
  const auto colon = ref.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == ref.size()) return std::nullopt;
  const std::string remote = ref.substr(0, colon);
  const std::string image = ref.substr(colon + 1);
  if (remote.find('/') != std::string::npos) return std::nullopt;  // "host:port/..." is a registry
  if (const auto it = configured.find(remote); it != configured.end()) return LxdImageRef{it->second, image};
  if (std::holds_alternative<model::ImageRef>(model::parse_image_ref(ref))) return std::nullopt;
  if (const auto it = builtin_remotes().find(remote); it != builtin_remotes().end())
    return LxdImageRef{it->second, image};
  return std::nullopt;
}

}  // namespace lxe::images
