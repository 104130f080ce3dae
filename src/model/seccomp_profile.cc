#include "model/seccomp_profile.h"

#include <seccomp.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>
#include <tuple>

namespace lxe::model::seccomp {
namespace {

using nlohmann::json;

// The kernel's SECCOMP_RET_DATA is 16 bits; an errno above MAX_ERRNO would not read as an error.
constexpr uint64_t kMaxErrno = 4095;
constexpr uint64_t kMaxTraceMessage = 0xffff;
constexpr uint32_t kEperm = EPERM;

struct ActionName {
  const char* name;
  Action::Kind kind;
};
constexpr ActionName kActions[] = {
    {"SCMP_ACT_ALLOW", Action::Kind::Allow},
    {"SCMP_ACT_ERRNO", Action::Kind::Errno},
    {"SCMP_ACT_KILL", Action::Kind::KillThread},
    {"SCMP_ACT_KILL_THREAD", Action::Kind::KillThread},
    {"SCMP_ACT_KILL_PROCESS", Action::Kind::KillProcess},
    {"SCMP_ACT_TRAP", Action::Kind::Trap},
    {"SCMP_ACT_TRACE", Action::Kind::Trace},
    {"SCMP_ACT_LOG", Action::Kind::Log},
};

struct OpName {
  const char* name;
  Op op;
};
constexpr OpName kOps[] = {
    {"SCMP_CMP_NE", Op::NotEqual},       {"SCMP_CMP_LT", Op::LessThan},    {"SCMP_CMP_LE", Op::LessOrEqual},
    {"SCMP_CMP_EQ", Op::EqualTo},        {"SCMP_CMP_GE", Op::GreaterOrEqual}, {"SCMP_CMP_GT", Op::GreaterThan},
    {"SCMP_CMP_MASKED_EQ", Op::MaskedEqual},
};

constexpr const char* kFlags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                  "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};

bool takes_ret(Action::Kind kind) { return kind == Action::Kind::Errno || kind == Action::Kind::Trace; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// libseccomp's token for "SCMP_ARCH_X86_64" (or "x86_64"); 0 when it knows no such architecture.
uint32_t arch_token(std::string_view name) {
  std::string n = lower(name);
  if (n.rfind("scmp_arch_", 0) == 0) n = n.substr(10);
  if (n.empty()) return 0;
  return seccomp_arch_resolve_name(n.c_str());
}

// The names the native architecture goes by in profiles: Docker's Go names in includes/excludes,
// libseccomp's and the OCI spec's.
std::vector<std::string> native_arch_names() {
#if defined(__x86_64__)
  return {"amd64", "x86_64", "scmp_arch_x86_64"};
#elif defined(__aarch64__)
  return {"arm64", "aarch64", "scmp_arch_aarch64"};
#elif defined(__i386__)
  return {"386", "x86", "scmp_arch_x86"};
#elif defined(__arm__)
  return {"arm", "scmp_arch_arm"};
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return {"ppc64le", "scmp_arch_ppc64le"};
#elif defined(__s390x__)
  return {"s390x", "scmp_arch_s390x"};
#elif defined(__riscv) && __riscv_xlen == 64
  return {"riscv64", "scmp_arch_riscv64"};
#else
  return {};
#endif
}

bool is_native(std::string_view arch) {
  const auto names = native_arch_names();
  return std::find(names.begin(), names.end(), lower(arch)) != names.end();
}

// "6.1.0-18-amd64" → (6, 1); nullopt when it does not start with two numbers.
std::optional<std::pair<int, int>> kernel_version(std::string_view release) {
  int major = 0, minor = 0;
  size_t i = 0;
  const auto number = [&](int& out) {
    const size_t start = i;
    while (i < release.size() && std::isdigit(static_cast<unsigned char>(release[i])) && i - start < 6)
      out = out * 10 + (release[i++] - '0');
    return i > start;
  };
  if (!number(major) || i >= release.size() || release[i] != '.') return std::nullopt;
  ++i;
  if (!number(minor)) return std::nullopt;
  return std::pair{major, minor};
}

class Reader {
 public:
  std::string problem;

  bool fail(std::string what) {
    if (problem.empty()) problem = std::move(what);
    return false;
  }

  bool action(const json& value, const std::string& where, Action& out) {
    if (!value.is_string()) return fail(where + " must be a string such as \"SCMP_ACT_ERRNO\"");
    const auto name = value.get<std::string>();
    if (name == "SCMP_ACT_NOTIFY")
      return fail(where + " is SCMP_ACT_NOTIFY, which needs a seccomp agent (listenerPath); lxe has none");
    for (const auto& a : kActions)
      if (name == a.name) {
        out.kind = a.kind;
        out.ret = takes_ret(a.kind) ? kEperm : 0;
        return true;
      }
    return fail(where + " '" + name +
                "' is not a seccomp action (SCMP_ACT_ALLOW, ERRNO, KILL, KILL_PROCESS, KILL_THREAD, TRAP, TRACE or LOG)");
  }

  bool ret(const json& object, const char* key, const std::string& where, Action& out) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return true;
    const std::string field = where.empty() ? std::string(key) : where + "." + key;
    if (!takes_ret(out.kind)) return fail(field + " is set, but only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return a value");
    const uint64_t max = out.kind == Action::Kind::Errno ? kMaxErrno : kMaxTraceMessage;
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0))
      return fail(field + " must be a number from 0 to " + std::to_string(max));
    const uint64_t value = it->get<uint64_t>();
    if (value > max) return fail(field + " must be a number from 0 to " + std::to_string(max));
    out.ret = static_cast<uint32_t>(value);
    return true;
  }

  bool strings(const json& value, const std::string& where, std::vector<std::string>& out) {
    if (value.is_null()) return true;
    if (!value.is_array()) return fail(where + " must be an array of strings");
    for (const auto& item : value) {
      if (!item.is_string()) return fail(where + " must be an array of strings");
      out.push_back(item.get<std::string>());
    }
    return true;
  }

  bool arch(const std::string& name, const std::string& where) {
    if (arch_token(name) == 0) return fail(where + " '" + name + "' is not an architecture libseccomp knows (such as SCMP_ARCH_X86_64)");
    return true;
  }

  bool number(const json& object, const char* key, const std::string& where, uint64_t& out) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return true;
    if (it->is_number_unsigned()) {
      out = it->get<uint64_t>();
      return true;
    }
    if (it->is_number_integer() && it->get<int64_t>() >= 0) {
      out = static_cast<uint64_t>(it->get<int64_t>());
      return true;
    }
    return fail(where + "." + key + " must be a number from 0 to 18446744073709551615");
  }

  bool condition(const json& object, const char* key, const std::string& where, Condition& out) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return true;
    const std::string here = where + "." + key;
    if (!it->is_object()) return fail(here + " must be an object (caps, arches, minKernel)");
    if (it->contains("caps") && !strings((*it)["caps"], here + ".caps", out.caps)) return false;
    if (it->contains("arches") && !strings((*it)["arches"], here + ".arches", out.arches)) return false;
    if (const auto k = it->find("minKernel"); k != it->end() && !k->is_null()) {
      if (!k->is_string() || !kernel_version(k->get<std::string>()))
        return fail(here + ".minKernel must be a kernel version such as \"4.8\"");
      out.min_kernel = k->get<std::string>();
    }
    return true;
  }

  bool arg(const json& value, const std::string& where, Arg& out) {
    if (!value.is_object()) return fail(where + " must be an object (index, value, valueTwo, op)");
    uint64_t index = 0;
    if (!value.contains("index")) return fail(where + ".index is missing");
    if (!number(value, "index", where, index)) return false;
    if (index > 5) return fail(where + ".index must be 0 to 5 (a syscall has at most six arguments)");
    out.index = static_cast<unsigned>(index);
    if (!number(value, "value", where, out.value) || !number(value, "valueTwo", where, out.value_two)) return false;
    const auto op = value.find("op");
    if (op == value.end() || !op->is_string()) return fail(where + ".op must be a string such as \"SCMP_CMP_EQ\"");
    for (const auto& o : kOps)
      if (op->get<std::string>() == o.name) {
        out.op = o.op;
        return true;
      }
    return fail(where + ".op '" + op->get<std::string>() +
                "' is not a comparison (SCMP_CMP_NE, LT, LE, EQ, GE, GT or MASKED_EQ)");
  }

  bool rule(const json& value, const std::string& where, Rule& out) {
    if (!value.is_object()) return fail(where + " must be an object");
    std::vector<std::string> names;
    if (value.contains("names") && !strings(value["names"], where + ".names", names)) return false;
    if (const auto n = value.find("name"); n != value.end() && !n->is_null()) {
      if (!n->is_string()) return fail(where + ".name must be a string");
      names.push_back(n->get<std::string>());
    }
    if (names.empty()) return fail(where + " names no syscall (names or name)");
    if (!value.contains("action")) return fail(where + ".action is missing");
    if (!action(value["action"], where + ".action", out.action) || !ret(value, "errnoRet", where, out.action))
      return false;
    if (const auto a = value.find("args"); a != value.end() && !a->is_null()) {
      if (!a->is_array()) return fail(where + ".args must be an array");
      for (size_t i = 0; i < a->size(); ++i) {
        Arg parsed;
        if (!arg((*a)[i], where + ".args[" + std::to_string(i) + "]", parsed)) return false;
        out.args.push_back(parsed);
      }
    }
    if (!condition(value, "includes", where, out.includes) || !condition(value, "excludes", where, out.excludes))
      return false;
    for (const auto& name : names) {
      if (name.empty() || seccomp_syscall_resolve_name(name.c_str()) == __NR_SCMP_ERROR) {
        // A syscall libseccomp cannot name cannot be filtered: allowing it changes nothing (it
        // keeps the default action), restricting it would be a promise lxe could not keep.
        if (out.action.kind == Action::Kind::Allow) continue;
        return fail(where + " names '" + name + "', a syscall libseccomp " + std::to_string(SCMP_VER_MAJOR) + "." +
                    std::to_string(SCMP_VER_MINOR) + " does not know, so lxe cannot restrict it");
      }
      out.names.push_back(name);
    }
    return true;
  }
};

}  // namespace

std::variant<Profile, std::string> parse_profile(std::string_view json_text) {
  const json root = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return std::string("it is not valid JSON");
  if (!root.is_object()) return std::string("it is not a JSON object");
  Reader r;
  Profile p;
  if (!root.contains("defaultAction")) return std::string("defaultAction is missing");
  if (!r.action(root["defaultAction"], "defaultAction", p.default_action) ||
      !r.ret(root, "defaultErrnoRet", "", p.default_action))
    return r.problem;
  if (const auto arches = root.find("architectures"); arches != root.end() && !arches->is_null()) {
    if (!r.strings(*arches, "architectures", p.architectures)) return r.problem;
    for (const auto& a : p.architectures)
      if (!r.arch(a, "architectures has")) return r.problem;
  } else if (const auto map = root.find("archMap"); map != root.end() && !map->is_null()) {
    if (!map->is_array()) return std::string("archMap must be an array");
    for (size_t i = 0; i < map->size(); ++i) {
      const json& entry = (*map)[i];
      const std::string where = "archMap[" + std::to_string(i) + "]";
      if (!entry.is_object() || !entry.contains("architecture") || !entry["architecture"].is_string())
        return where + " must be an object with an architecture";
      const auto arch = entry["architecture"].get<std::string>();
      std::vector<std::string> subs;
      if (entry.contains("subArchitectures") && !r.strings(entry["subArchitectures"], where + ".subArchitectures", subs))
        return r.problem;
      if (!r.arch(arch, where + ".architecture")) return r.problem;
      for (const auto& s : subs)
        if (!r.arch(s, where + ".subArchitectures has")) return r.problem;
      if (!is_native(arch)) continue;
      p.architectures.push_back(arch);
      p.architectures.insert(p.architectures.end(), subs.begin(), subs.end());
    }
  }
  if (const auto flags = root.find("flags"); flags != root.end()) {
    if (!r.strings(*flags, "flags", p.flags)) return r.problem;
    for (const auto& f : p.flags)
      if (std::none_of(std::begin(kFlags), std::end(kFlags), [&](const char* k) { return f == k; }))
        return "flags has '" + f + "', which lxe does not support (SECCOMP_FILTER_FLAG_LOG, _SPEC_ALLOW, _TSYNC)";
  }
  if (const auto listener = root.find("listenerPath");
      listener != root.end() && !(listener->is_null() || (listener->is_string() && listener->get<std::string>().empty())))
    return std::string("listenerPath is set: lxe does not hand seccomp notifications to an agent");
  if (const auto calls = root.find("syscalls"); calls != root.end() && !calls->is_null()) {
    if (!calls->is_array()) return std::string("syscalls must be an array");
    for (size_t i = 0; i < calls->size(); ++i) {
      Rule rule;
      if (!r.rule((*calls)[i], "syscalls[" + std::to_string(i) + "]", rule)) return r.problem;
      if (!rule.names.empty()) p.rules.push_back(std::move(rule));
    }
  }
  return p;
}

namespace {

json condition_json(const Condition& c) {
  json out = json::object();
  if (!c.caps.empty()) out["caps"] = c.caps;
  if (!c.arches.empty()) out["arches"] = c.arches;
  if (!c.min_kernel.empty()) out["minKernel"] = c.min_kernel;
  return out;
}

std::string action_name(Action::Kind kind) {
  for (const auto& a : kActions)
    if (a.kind == kind && std::strcmp(a.name, "SCMP_ACT_KILL") != 0) return a.name;
  return "SCMP_ACT_KILL_THREAD";
}

}  // namespace

json to_json(const Profile& p) {
  json out = {{"defaultAction", action_name(p.default_action.kind)}};
  if (takes_ret(p.default_action.kind)) out["defaultErrnoRet"] = p.default_action.ret;
  if (!p.architectures.empty()) out["architectures"] = p.architectures;
  if (!p.flags.empty()) out["flags"] = p.flags;
  json calls = json::array();
  for (const auto& rule : p.rules) {
    json r = {{"names", rule.names}, {"action", action_name(rule.action.kind)}};
    if (takes_ret(rule.action.kind)) r["errnoRet"] = rule.action.ret;
    if (!rule.args.empty()) {
      json args = json::array();
      for (const auto& a : rule.args) {
        std::string op;
        for (const auto& o : kOps)
          if (o.op == a.op) op = o.name;
        args.push_back({{"index", a.index}, {"value", a.value}, {"valueTwo", a.value_two}, {"op", op}});
      }
      r["args"] = std::move(args);
    }
    if (!rule.includes.empty()) r["includes"] = condition_json(rule.includes);
    if (!rule.excludes.empty()) r["excludes"] = condition_json(rule.excludes);
    calls.push_back(std::move(r));
  }
  out["syscalls"] = std::move(calls);
  return out;
}

Profile resolve(const Profile& profile, const std::vector<std::string>& caps, std::string_view kernel_release) {
  const auto has_cap = [&](const std::string& c) {
    std::string name = c;
    for (auto& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (name.rfind("CAP_", 0) != 0) name = "CAP_" + name;
    return std::find(caps.begin(), caps.end(), name) != caps.end();
  };
  const auto kernel = kernel_version(kernel_release);
  const auto kernel_at_least = [&](const std::string& min) {
    const auto wanted = kernel_version(min);
    return kernel && wanted && *kernel >= *wanted;
  };
  Profile out = profile;
  out.rules.clear();
  for (const auto& rule : profile.rules) {
    const auto& in = rule.includes;
    if (!std::all_of(in.caps.begin(), in.caps.end(), has_cap)) continue;
    if (!in.arches.empty() && std::none_of(in.arches.begin(), in.arches.end(), [](const std::string& a) { return is_native(a); }))
      continue;
    if (!in.min_kernel.empty() && !kernel_at_least(in.min_kernel)) continue;
    const auto& ex = rule.excludes;
    if (std::any_of(ex.caps.begin(), ex.caps.end(), has_cap)) continue;
    if (std::any_of(ex.arches.begin(), ex.arches.end(), [](const std::string& a) { return is_native(a); })) continue;
    if (!ex.min_kernel.empty() && kernel_at_least(ex.min_kernel)) continue;
    Rule kept = rule;
    kept.includes = {};
    kept.excludes = {};
    out.rules.push_back(std::move(kept));
  }
  return out;
}

std::string host_kernel_release() {
  utsname u{};
  if (::uname(&u) != 0) return "";
  return u.release;
}

void FilterDeleter::operator()(void* ctx) const { seccomp_release(ctx); }

namespace {

uint32_t libseccomp_action(const Action& a) {
  switch (a.kind) {
    case Action::Kind::Allow: return SCMP_ACT_ALLOW;
    case Action::Kind::Errno: return SCMP_ACT_ERRNO(a.ret);
    case Action::Kind::KillThread: return SCMP_ACT_KILL_THREAD;
    case Action::Kind::KillProcess: return SCMP_ACT_KILL_PROCESS;
    case Action::Kind::Trap: return SCMP_ACT_TRAP;
    case Action::Kind::Trace: return SCMP_ACT_TRACE(a.ret);
    case Action::Kind::Log: return SCMP_ACT_LOG;
  }
  return SCMP_ACT_KILL_PROCESS;
}

scmp_compare libseccomp_op(Op op) {
  switch (op) {
    case Op::NotEqual: return SCMP_CMP_NE;
    case Op::LessThan: return SCMP_CMP_LT;
    case Op::LessOrEqual: return SCMP_CMP_LE;
    case Op::EqualTo: return SCMP_CMP_EQ;
    case Op::GreaterOrEqual: return SCMP_CMP_GE;
    case Op::GreaterThan: return SCMP_CMP_GT;
    case Op::MaskedEqual: return SCMP_CMP_MASKED_EQ;
  }
  return SCMP_CMP_EQ;
}

std::string libseccomp_error(int rc) { return std::strerror(-rc); }

}  // namespace

std::variant<Filter, std::string> compile(const Profile& profile) {
  const uint32_t default_action = libseccomp_action(profile.default_action);
  Filter filter(seccomp_init(default_action));
  if (!filter) return std::string("libseccomp cannot make a filter with this default action");
  void* ctx = filter.get();
  if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0); rc != 0)
    return "libseccomp refuses to leave no_new_privs alone: " + libseccomp_error(rc);
  for (const auto& flag : profile.flags) {
    int rc = 0;
    if (flag == "SECCOMP_FILTER_FLAG_LOG") rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
    if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
    if (rc != 0) return "flag " + flag + " is not available: " + libseccomp_error(rc);
  }
  for (const auto& arch : profile.architectures) {
    const uint32_t token = arch_token(arch);
    if (token == 0) return "architecture " + arch + " is unknown to libseccomp";
    const int rc = seccomp_arch_add(ctx, token);
    if (rc != 0 && rc != -EEXIST) return "architecture " + arch + " cannot be added: " + libseccomp_error(rc);
  }
  for (const auto& rule : profile.rules) {
    // libseccomp refuses a rule that does what the default does; it changes nothing anyway.
    const uint32_t action = libseccomp_action(rule.action);
    if (action == default_action) continue;
    std::vector<scmp_arg_cmp> conditions;
    for (const auto& a : rule.args)
      conditions.push_back(scmp_arg_cmp{a.index, libseccomp_op(a.op), a.value, a.value_two});
    std::set<unsigned> indexes;
    for (const auto& a : rule.args) indexes.insert(a.index);
    const bool one_rule = indexes.size() == rule.args.size();
    for (const auto& name : rule.names) {
      const int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        if (rule.action.kind == Action::Kind::Allow) continue;
        return "syscall " + name + " is unknown to libseccomp";
      }
      // Conditions on distinct arguments must all hold (one rule). libseccomp takes one condition
      // per argument in a rule, so conditions on the same argument become a rule each, as runc
      // does: any of them holding is enough.
      int rc = 0;
      if (one_rule) {
        rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(conditions.size()),
                                    conditions.empty() ? nullptr : conditions.data());
      } else {
        for (const auto& c : conditions) {
          rc = seccomp_rule_add_array(ctx, action, nr, 1, &c);
          if (rc != 0) break;
        }
      }
      if (rc != 0) return "the rule for " + name + " cannot be added: " + libseccomp_error(rc);
    }
  }
  return filter;
}

int load(const Filter& filter) { return seccomp_load(filter.get()); }

}  // namespace lxe::model::seccomp
