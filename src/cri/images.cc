#include "cri/images.h"

#include <algorithm>
#include <vector>

#include "model/image_ref.h"

namespace lxe::cri {

namespace {

// The names to try, the reference as given first: then its normalised and familiar forms
// (model/image_ref.h), with and without a digest, and a ":latest" tag also left out, because an
// LXD alias may have been made with any of them ("busybox", "busybox:latest",
// "docker.io/library/busybox:latest"; a tag-less "gcr.io/x/y" may be aliased "gcr.io/x/y:latest").
std::vector<std::string> candidate_aliases(const std::string& ref) {
  std::vector<std::string> names = {ref};
  const auto add = [&names](const std::string& name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  };
  const auto parsed = model::parse_image_ref(ref);
  const auto* normalised = std::get_if<model::ImageRef>(&parsed);
  if (!normalised) return names;  // not an OCI reference: an alias or fingerprint as given
  model::ImageRef by_name = *normalised;
  by_name.digest.clear();
  if (by_name.tag.empty()) by_name.tag = "latest";
  for (const auto& form : {*normalised, by_name}) {
    add(form.to_string());
    add(form.familiar());
    if (form.tag == "latest" && form.digest.empty()) {
      model::ImageRef untagged = form;
      untagged.tag.clear();
      add(untagged.to_string());
      add(untagged.familiar());
    }
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
