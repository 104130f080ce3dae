#include "reconcile/idmap.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace lxe::reconcile {

std::vector<IdRange> parse_lxd_idmap(std::string_view json) {
  const auto maps = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!maps.is_array()) throw std::runtime_error("LXD's idmap is not a JSON list: " + std::string(json.substr(0, 200)));
  std::vector<IdRange> out;
  for (const auto& m : maps) {
    if (!m.is_object()) throw std::runtime_error("LXD's idmap has an entry that is not an object");
    const auto number = [&](const char* key) {
      const auto it = m.find(key);
      if (it == m.end() || !it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > UINT32_MAX)
        throw std::runtime_error(std::string("LXD's idmap has an entry without a valid ") + key);
      return static_cast<uint32_t>(it->get<int64_t>());
    };
    IdRange r;
    r.uid = m.value("Isuid", false);
    r.gid = m.value("Isgid", false);
    r.host_id = number("Hostid");
    r.ns_id = number("Nsid");
    r.count = number("Maprange");
    if ((r.uid || r.gid) && r.count > 0) out.push_back(r);
  }
  return out;
}

std::string id_map_file(const std::vector<IdRange>& ranges, bool uid) {
  std::string text;
  for (const auto& r : ranges)
    if (uid ? r.uid : r.gid)
      text += std::to_string(r.ns_id) + " " + std::to_string(r.host_id) + " " + std::to_string(r.count) + "\n";
  return text;
}

}  // namespace lxe::reconcile
