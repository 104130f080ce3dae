#include "cri/images.h"

#include <vector>

namespace lxe::cri {

namespace {

// The names to try, most specific first.
std::vector<std::string> candidate_aliases(const std::string& ref) {
  std::vector<std::string> names = {ref};
  std::string name = ref;
  for (const char* prefix : {"docker.io/library/", "docker.io/", "index.docker.io/library/"}) {
    if (name.rfind(prefix, 0) == 0) {
      name = name.substr(std::string(prefix).size());
      names.push_back(name);
      break;
    }
  }
  const auto digest = name.find('@');
  if (digest != std::string::npos) names.push_back(name.substr(0, digest));
  const auto colon = name.rfind(':');
  if (colon != std::string::npos && name.find('/', colon) == std::string::npos) {
    if (name.substr(colon + 1) == "latest") names.push_back(name.substr(0, colon));
  }
  return names;
}

bool hex(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string::npos; }

}  // namespace

std::optional<lxd::Image> find_local_image(const lxd::Api& lxd, const std::string& ref) {
  if (ref.empty()) return std::nullopt;
  for (const auto& alias : candidate_aliases(ref)) {
    try {
      return lxd.get_image(lxd.get_image_alias(alias).target);
    } catch (const lxd::Error& e) {
      if (e.kind() != lxd::ErrorKind::NotFound && e.kind() != lxd::ErrorKind::BadRequest) throw;
    }
  }
  std::string fingerprint = ref.rfind("sha256:", 0) == 0 ? ref.substr(7) : ref;
  if (hex(fingerprint)) {
    try {
      return lxd.get_image(fingerprint);
    } catch (const lxd::Error& e) {
      if (e.kind() != lxd::ErrorKind::NotFound && e.kind() != lxd::ErrorKind::BadRequest) throw;
    }
  }
  return std::nullopt;
}

}  // namespace lxe::cri
