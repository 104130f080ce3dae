// LXD names for lxe's objects, and the keys that mark them as lxe's.
//
// LXD instance and profile names must be valid hostnames: at most 63 characters of [a-z0-9-],
// not starting with a digit or '-', not ending with '-'. CRI names are free-form, so a name is
// built from a sanitised, shortened pod/container name (for people reading `lxc list`) plus the
// first 12 hex digits of the CRI ID (for uniqueness; the store's UNIQUE constraint catches the
// rest).
#pragma once

#include <string>
#include <string_view>

namespace lxe::model {

inline constexpr const char* kManagedKey = "user.lxe.managed";  // "true" on everything lxe made
inline constexpr const char* kKindKey = "user.lxe.kind";        // "sandbox", "container" or "ready"
inline constexpr const char* kIdKey = "user.lxe.id";            // the CRI ID
inline constexpr const char* kSandboxIdKey = "user.lxe.sandbox-id";

// [a-z0-9-] only, no leading digit or '-', no repeated or trailing '-', at most `max` chars.
std::string sanitize_name_part(std::string_view text, size_t max);

// `prefix` is the daemon's --lxd-name-prefix ("lxe" by default).
std::string sandbox_lxd_name(std::string_view prefix, std::string_view pod_name, std::string_view sandbox_id);
std::string container_lxd_name(std::string_view prefix, std::string_view pod_name, std::string_view container_name,
                               std::string_view container_id);

// A ready instance (reconcile/ready_instances.h), made before any container needs it:
// "<prefix>--ready-<12 hex>". No sandbox or container name has "--" right after the prefix (a
// sanitised part never starts with '-'), so no pod name can make one.
std::string ready_instance_name(std::string_view prefix);
bool is_ready_instance_name(std::string_view prefix, std::string_view name);

// A prefix is valid when names made with it are: [a-z][a-z0-9-]*, at most 20 characters.
bool valid_lxd_name_prefix(std::string_view prefix);

// Whether `name` is a name LXD accepts for an instance or profile.
bool valid_lxd_name(std::string_view name);

// A new random 64-hex-digit ID, as CRI runtimes use.
std::string new_id();

}  // namespace lxe::model
