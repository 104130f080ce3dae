#include "init/spec.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

#include "init/fd.h"
#include "init/sys.h"
#include "model/capabilities.h"

namespace lxe::init {

std::string Spec::search_path() const {
  // The last PATH wins, as with getenv on an environment that has it twice.
  std::optional<std::string> path;
  for (const auto& kv : env)
    if (kv.rfind("PATH=", 0) == 0) path = kv.substr(5);
  return path.value_or(kDefaultPath);
}

namespace {

using nlohmann::json;

// Reads the fields of one spec object; every error names the field. A field that is null counts
// as absent.
class Reader {
 public:
  Reader(const json& object, std::string exit_path) : object_(object), exit_path_(std::move(exit_path)) {}

  [[noreturn]] void fail(const std::string& what) const { throw SpecError(what, exit_path_); }

  const json* find(const char* key) const {
    const auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  std::optional<std::string> string(const char* key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) fail(std::string("spec field ") + key + " must be a string");
    return v->get<std::string>();
  }

  std::optional<int64_t> integer(const char* key, int64_t min, int64_t max) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    // An unsigned value above INT64_MAX reads as negative and fails the range check.
    if (!v->is_number_integer() || v->get<int64_t>() < min || v->get<int64_t>() > max)
      fail(std::string("spec field ") + key + " must be an integer from " + std::to_string(min) + " to " +
           std::to_string(max));
    return v->get<int64_t>();
  }

  std::optional<bool> boolean(const char* key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) fail(std::string("spec field ") + key + " must be true or false");
    return v->get<bool>();
  }

  std::vector<std::string> strings(const char* key) const {
    std::vector<std::string> out;
    const json* v = find(key);
    if (!v) return out;
    if (!v->is_array()) fail(std::string("spec field ") + key + " must be an array of strings");
    for (const auto& item : *v) {
      if (!item.is_string()) fail(std::string("spec field ") + key + " must be an array of strings");
      out.push_back(item.get<std::string>());
    }
    return out;
  }

 private:
  const json& object_;
  std::string exit_path_;
};

// (uid_t)-1 means "unchanged" to setuid-like calls, so it is not a valid id.
constexpr int64_t kMaxId = std::numeric_limits<uint32_t>::max() - 1;

}  // namespace

Spec parse_spec(std::string_view json_text) {
  const json object = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) throw SpecError("spec is not valid JSON", "");
  if (!object.is_object()) throw SpecError("spec must be a JSON object", "");

  // exit_path first: every later error can then still be reported through an exit record.
  const Reader exit_reader(object, "");
  Spec spec;
  spec.exit_path = exit_reader.string("exit_path").value_or("");
  const Reader r(object, spec.exit_path);

  spec.args = r.strings("args");
  if (spec.args.empty() || spec.args[0].empty())
    r.fail("spec field args must be a non-empty array of strings");
  spec.env = r.strings("env");
  for (const auto& kv : spec.env)
    if (kv.find('=') == std::string::npos) r.fail("spec field env has an entry without '=': " + kv);
  spec.cwd = r.string("cwd").value_or("/");
  if (spec.cwd.empty()) spec.cwd = "/";
  spec.log_path = r.string("log_path").value_or("");
  spec.hostname = r.string("hostname");
  if (auto uid = r.integer("uid", 0, kMaxId)) spec.uid = static_cast<uid_t>(*uid);
  if (auto gid = r.integer("gid", 0, kMaxId)) spec.gid = static_cast<gid_t>(*gid);
  spec.stop_signal = static_cast<int>(r.integer("stop_signal", 1, NSIG - 1).value_or(SIGTERM));
  spec.stdin = r.boolean("stdin").value_or(false);
  spec.stdin_once = r.boolean("stdin_once").value_or(false);
  spec.tty = r.boolean("tty").value_or(false);
  spec.attach_socket = r.string("attach_socket").value_or("");
  spec.new_pid_namespace = r.boolean("new_pid_namespace").value_or(false);
  spec.mounts.readonly_rootfs = r.boolean("readonly_rootfs").value_or(false);
  spec.mounts.masked_paths = r.strings("masked_paths");
  spec.mounts.readonly_paths = r.strings("readonly_paths");

  if (r.find("capabilities")) {
    std::vector<int> numbers;
    for (const auto& name : r.strings("capabilities")) {
      const auto number = model::capability_number(name);
      if (!number) r.fail("spec field capabilities has an unknown capability: " + name);
      numbers.push_back(*number);
    }
    spec.capabilities = std::move(numbers);
  }
  spec.privileged = r.boolean("privileged").value_or(false);
  spec.no_new_privs = r.boolean("no_new_privs").value_or(false);
  if (const json* seccomp = r.find("seccomp")) {
    auto parsed = model::seccomp::parse_profile(seccomp->dump());
    if (const auto* why = std::get_if<std::string>(&parsed)) r.fail("spec field seccomp: " + *why);
    spec.seccomp = std::move(std::get<model::seccomp::Profile>(parsed));
  }
  if (const json* groups = r.find("supplemental_groups")) {
    if (!groups->is_array()) r.fail("spec field supplemental_groups must be an array of group IDs");
    std::vector<gid_t> ids;
    for (const auto& g : *groups) {
      if (!g.is_number_integer() || g.get<int64_t>() < 0 || g.get<int64_t>() > kMaxId)
        r.fail("spec field supplemental_groups must be an array of integers from 0 to " + std::to_string(kMaxId));
      ids.push_back(static_cast<gid_t>(g.get<int64_t>()));
    }
    spec.supplemental_groups = std::move(ids);
  }
  const std::string policy = r.string("supplemental_groups_policy").value_or("Merge");
  if (policy != "Merge" && policy != "Strict") r.fail("spec field supplemental_groups_policy must be Merge or Strict");
  spec.merge_groups = policy == "Merge";
  if (auto adj = r.integer("oom_score_adj", -1000, 1000)) spec.oom_score_adj = static_cast<int>(*adj);
  return spec;
}

Spec load_spec(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw SpecError("cannot open spec " + path + ": " + errno_text(errno), "");
  std::string text;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  if (n < 0) throw SpecError("cannot read spec " + path + ": " + errno_text(errno), "");
  return parse_spec(text);
}

}  // namespace lxe::init
