// The supplementary groups of a container's process: CRI's supplemental_groups with its
// supplemental_groups_policy, as containerd and runc give them.
//
// No dependency beyond the standard library: lxe-init compiles this file in, and applies it with
// the /etc/passwd and /etc/group it finds in the container when the process starts.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace lxe::model {

// The groups, in order of first appearance and each once: the primary `gid`; with `merge`
// (SupplementalGroupsPolicy Merge, CRI's default) every group /etc/group (`group_file`) lists the
// user as a member of, the user being the name /etc/passwd (`passwd_file`) gives `uid` (none when
// it has no entry for `uid`); then `supplemental`. Strict (merge false) leaves out what the image's
// files say. Malformed lines of either file are skipped.
std::vector<uint32_t> process_groups(uint32_t uid, uint32_t gid, const std::vector<uint32_t>& supplemental, bool merge,
                                     std::string_view passwd_file, std::string_view group_file);

}  // namespace lxe::model
