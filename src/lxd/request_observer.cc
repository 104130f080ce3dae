#include "lxd/request_observer.h"

#include <vector>

namespace lxe::lxd {
namespace {

// LXD's collections whose next path segment is an object's name (or an operation's UUID), and the
// placeholder that stands for it. Sub-collections of an instance (logs, files, snapshots...) name
// objects too.
std::string_view placeholder_after(std::string_view collection) {
  if (collection == "operations") return "{id}";
  if (collection == "images" || collection == "aliases") return "{name}";
  if (collection == "instances" || collection == "containers" || collection == "profiles" ||
      collection == "networks" || collection == "storage-pools" || collection == "volumes" ||
      collection == "snapshots" || collection == "projects" || collection == "certificates" ||
      collection == "logs" || collection == "backups")
    return "{name}";
  return {};
}

}  // namespace

std::string endpoint_of(std::string_view path) {
  if (const auto query = path.find('?'); query != std::string_view::npos) path = path.substr(0, query);
  std::vector<std::string_view> segments;
  for (size_t at = 0; at <= path.size();) {
    const size_t slash = path.find('/', at);
    const size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > at) segments.push_back(path.substr(at, end - at));
    if (slash == std::string_view::npos) break;
    at = slash + 1;
  }
  std::string out;
  std::string_view previous;
  for (size_t i = 0; i < segments.size(); ++i) {
    std::string_view segment = segments[i];
    // A volume's type comes between "volumes" and its name (/storage-pools/p/volumes/custom/v).
    const bool volume_type = previous == "volumes" && (segment == "custom" || segment == "container" ||
                                                       segment == "image" || segment == "virtual-machine");
    std::string_view placeholder = volume_type ? std::string_view{} : placeholder_after(previous);
    // "/1.0/images/aliases" is a collection, not an image named "aliases".
    if (previous == "images" && segment == "aliases") placeholder = {};
    out += '/';
    out += placeholder.empty() ? segment : placeholder;
    previous = volume_type ? std::string_view("volumes") : (placeholder.empty() ? segment : std::string_view{});
  }
  return out.empty() ? "/" : out;
}

}  // namespace lxe::lxd
