// Linux capabilities of a container's process: their names, and CRI's rules for the set a container
// gets (containerd's: its default set, then add_capabilities, then drop_capabilities).
//
// No dependency beyond the standard library: lxe-init (a static binary) compiles this file in too,
// to turn the names lxe writes into spec.json back into numbers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lxe::model {

// The highest capability number lxe has a name for (CAP_CHECKPOINT_RESTORE, Linux 5.9).
inline constexpr int kLastKnownCapability = 40;

// "CAP_NET_ADMIN" for 12; "" for a number lxe has no name for.
std::string capability_name(int number);

// The number of a capability named as CRI, containerd and Docker accept it: with or without the
// "CAP_" prefix, in any case ("net_admin", "CAP_NET_ADMIN", "Net_Admin"). nullopt when unknown
// ("ALL" is not a capability: it is handled by container_capabilities).
std::optional<int> capability_number(std::string_view name);

// containerd's default set for a container that is not privileged (oci.defaultUnixCaps): CHOWN,
// DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP,
// NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE. Sorted by number.
std::vector<int> default_capabilities();

// The host kernel's highest capability (/proc/sys/kernel/cap_last_cap), at most
// kLastKnownCapability; kLastKnownCapability when the file cannot be read. Read once.
int host_last_capability();

// A container's capabilities, sorted by number, as containerd computes them:
//  - privileged: every capability up to `last_cap` (add and drop are not looked at, but their
//    names must still be known);
//  - else the default set; "ALL" in `add` makes it every capability up to `last_cap`, then "ALL"
//    in `drop` makes it empty; then each other name of `add` is added and each other name of
//    `drop` removed (so add ["ALL"], drop ["CHOWN"] is everything but CHOWN, and a name in both
//    lists is dropped).
// A known capability above `last_cap` (a kernel older than lxe) is left out: the kernel cannot
// give it. Returns the problem for an INVALID_ARGUMENT message when a name is not a capability,
// naming it and the list it is in.
std::variant<std::vector<int>, std::string> container_capabilities(const std::vector<std::string>& add,
                                                                   const std::vector<std::string>& drop,
                                                                   bool privileged, int last_cap);

// Names for numbers, in order ("CAP_CHOWN", ...): what spec.json carries.
std::vector<std::string> capability_names(const std::vector<int>& numbers);

}  // namespace lxe::model
