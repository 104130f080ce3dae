// LXD's idmaps (volatile.idmap.current / .next) and the uid_map/gid_map text they become: pure
// parsing, apart from idmapped_mount.h's syscalls, so that the spec builder (and the request
// fuzzer, which builds it without lxe's host code) can read them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lxe::reconcile {

// One range of an idmap: `count` IDs from `ns_id` inside the container are `host_id`... on the host.
struct IdRange {
  bool uid = false;
  bool gid = false;
  uint32_t ns_id = 0;
  uint32_t host_id = 0;
  uint32_t count = 0;
  bool operator==(const IdRange&) const = default;
};

// LXD's idmap JSON ([{"Isuid":true,"Isgid":false,"Hostid":100000,"Nsid":0,"Maprange":65536}, ...]).
// Ranges of no IDs are left out. Throws std::runtime_error when it is not that.
std::vector<IdRange> parse_lxd_idmap(std::string_view json);

// The text for /proc/<pid>/uid_map (`uid`) or gid_map: one "ns_id host_id count" line per range.
std::string id_map_file(const std::vector<IdRange>& ranges, bool uid);

}  // namespace lxe::reconcile
