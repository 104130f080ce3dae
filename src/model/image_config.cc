#include "model/image_config.h"

#include <algorithm>
#include <csignal>
#include <cctype>
#include <charconv>
#include <sstream>
#include <stdexcept>

namespace lxe::model {

namespace {

std::vector<std::string> strings_of(const nlohmann::json& object, const char* key) {
  std::vector<std::string> out;
  const auto it = object.find(key);
  if (it == object.end() || !it->is_array()) return out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::string string_of(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<int64_t> number(const std::string& s) {
  int64_t value = 0;
  if (s.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value < 0) return std::nullopt;
  return value;
}

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, separator)) fields.push_back(field);
  if (!line.empty() && line.back() == separator) fields.emplace_back();
  return fields;
}

std::string env_key(const std::string& kv) { return kv.substr(0, kv.find('=')); }

}  // namespace

ImageConfig parse_oci_image_config(const nlohmann::json& blob) {
  if (!blob.is_object()) throw std::runtime_error("the image config is not a JSON object");
  ImageConfig out;
  const auto it = blob.find("config");
  if (it == blob.end() || !it->is_object()) return out;
  const auto& c = *it;
  out.entrypoint = strings_of(c, "Entrypoint");
  out.cmd = strings_of(c, "Cmd");
  out.env = strings_of(c, "Env");
  out.working_dir = string_of(c, "WorkingDir");
  out.user = string_of(c, "User");
  out.stop_signal = string_of(c, "StopSignal");
  if (const auto ports = c.find("ExposedPorts"); ports != c.end() && ports->is_object())
    for (const auto& [port, _] : ports->items()) out.exposed_ports.push_back(port);
  if (const auto labels = c.find("Labels"); labels != c.end() && labels->is_object())
    for (const auto& [k, v] : labels->items())
      if (v.is_string()) out.labels[k] = v.get<std::string>();
  return out;
}

ImageUsers parse_image_users(const std::string& passwd, const std::string& group) {
  ImageUsers out;
  std::istringstream p(passwd);
  for (std::string line; std::getline(p, line);) {
    const auto f = split(line, ':');  // name:password:uid:gid:gecos:home:shell
    if (f.size() < 4 || f[0].empty() || f[0][0] == '#') continue;
    const auto uid = number(f[2]), gid = number(f[3]);
    if (uid && gid) out.users.emplace(f[0], ImageUsers::User{*uid, *gid});
  }
  std::istringstream g(group);
  for (std::string line; std::getline(g, line);) {
    const auto f = split(line, ':');  // name:password:gid:members
    if (f.size() < 3 || f[0].empty() || f[0][0] == '#') continue;
    if (const auto gid = number(f[2])) out.groups.emplace(f[0], *gid);
  }
  return out;
}

nlohmann::json to_json(const ImageDefaults& d) {
  nlohmann::json users = nlohmann::json::object();
  for (const auto& [name, u] : d.users.users) users[name] = {u.uid, u.gid};
  return {
      {"entrypoint", d.config.entrypoint},
      {"cmd", d.config.cmd},
      {"env", d.config.env},
      {"working_dir", d.config.working_dir},
      {"user", d.config.user},
      {"stop_signal", d.config.stop_signal},
      {"exposed_ports", d.config.exposed_ports},
      {"labels", d.config.labels},
      {"users", users},
      {"groups", d.users.groups},
  };
}

ImageDefaults image_defaults_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw std::runtime_error("stored image defaults are not a JSON object");
  ImageDefaults d;
  d.config.entrypoint = strings_of(j, "entrypoint");
  d.config.cmd = strings_of(j, "cmd");
  d.config.env = strings_of(j, "env");
  d.config.working_dir = string_of(j, "working_dir");
  d.config.user = string_of(j, "user");
  d.config.stop_signal = string_of(j, "stop_signal");
  d.config.exposed_ports = strings_of(j, "exposed_ports");
  if (const auto it = j.find("labels"); it != j.end() && it->is_object())
    for (const auto& [k, v] : it->items())
      if (v.is_string()) d.config.labels[k] = v.get<std::string>();
  if (const auto it = j.find("users"); it != j.end() && it->is_object())
    for (const auto& [name, ids] : it->items())
      if (ids.is_array() && ids.size() == 2 && ids[0].is_number_integer() && ids[1].is_number_integer())
        d.users.users[name] = {ids[0].get<int64_t>(), ids[1].get<int64_t>()};
  if (const auto it = j.find("groups"); it != j.end() && it->is_object())
    for (const auto& [name, gid] : it->items())
      if (gid.is_number_integer()) d.users.groups[name] = gid.get<int64_t>();
  return d;
}

std::optional<int> signal_number(const std::string& text) {
  if (const auto n = number(text)) return *n > 0 && *n < NSIG ? std::optional<int>(static_cast<int>(*n)) : std::nullopt;
  std::string name = text;
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  // Every Linux signal CRI's Signal enum names, with their aliases (CLD, IOT, POLL).
  static const std::map<std::string, int> names = {
      {"HUP", SIGHUP},       {"INT", SIGINT},     {"QUIT", SIGQUIT},   {"ILL", SIGILL},     {"TRAP", SIGTRAP},
      {"ABRT", SIGABRT},     {"IOT", SIGIOT},     {"BUS", SIGBUS},     {"FPE", SIGFPE},     {"KILL", SIGKILL},
      {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
      {"TERM", SIGTERM},     {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CLD", SIGCHLD},    {"CONT", SIGCONT},
      {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},   {"URG", SIGURG},
      {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
      {"IO", SIGIO},         {"POLL", SIGPOLL},   {"PWR", SIGPWR},     {"SYS", SIGSYS}};
  if (const auto it = names.find(name); it != names.end()) return it->second;
  if (name == "RTMIN") return static_cast<int>(SIGRTMIN);
  if (name == "RTMAX") return static_cast<int>(SIGRTMAX);
  if (name.rfind("RTMIN+", 0) == 0)
    if (const auto n = number(name.substr(6)); n && SIGRTMIN + *n <= SIGRTMAX) return static_cast<int>(SIGRTMIN + *n);
  if (name.rfind("RTMAX-", 0) == 0)
    if (const auto n = number(name.substr(6)); n && SIGRTMAX - *n >= SIGRTMIN) return static_cast<int>(SIGRTMAX - *n);
  return std::nullopt;
}

CriImageUser cri_image_user(const std::string& user) {
  const std::string name = user.substr(0, user.find(':'));
  CriImageUser out;
  if (name.empty()) return out;
  if (const auto uid = number(name)) out.uid = uid;
  else out.username = name;
  return out;
}

// What an image brings is untrusted like any request: its strings reach lxe-init's spec and LXD's
// environment.* keys. A NUL or, in an env name, a control character or '=' is refused.
std::string image_strings_problem(const ImageDefaults& image) {
  const auto has_nul = [](const std::string& s) { return s.find('\0') != std::string::npos; };
  for (const auto* list : {&image.config.entrypoint, &image.config.cmd})
    for (const auto& arg : *list)
      if (has_nul(arg)) return "the image's entrypoint or cmd holds a NUL character";
  for (const auto& kv : image.config.env) {
    if (has_nul(kv)) return "the image's env holds a NUL character";
    const std::string key = env_key(kv);
    if (key.empty() || kv.find('=') == std::string::npos)
      return "the image's env entry '" + kv.substr(0, 64) + "' is not NAME=VALUE";
    for (unsigned char c : key)
      if (c < 0x20 || c == 0x7f) return "the image's env name '" + key.substr(0, 64) + "' holds a control character";
  }
  if (has_nul(image.config.working_dir) || has_nul(image.config.user))
    return "the image's working dir or user holds a NUL character";
  return "";
}

std::variant<ContainerProcess, std::string> container_process(const runtime::v1::ContainerConfig& config,
                                                              const ImageDefaults* image) {
  if (image)
    if (auto problem = image_strings_problem(*image); !problem.empty()) return problem;
  ContainerProcess p;
  // Arguments: CRI's command replaces the entrypoint; its args replace cmd (Kubernetes' rules).
  if (!config.command().empty()) {
    p.args.assign(config.command().begin(), config.command().end());
    p.args.insert(p.args.end(), config.args().begin(), config.args().end());
  } else if (image) {
    p.args = image->config.entrypoint;
    if (!config.args().empty()) p.args.insert(p.args.end(), config.args().begin(), config.args().end());
    else p.args.insert(p.args.end(), image->config.cmd.begin(), image->config.cmd.end());
  } else {
    p.args.assign(config.args().begin(), config.args().end());
  }
  if (image && p.args.empty())
    return std::string("neither the container nor its image gives a command (the image has no entrypoint or cmd)");

  if (image) p.env = image->config.env;
  for (const auto& kv : config.envs()) {
    const std::string entry = kv.key() + "=" + kv.value();
    const auto same_key = [&](const std::string& e) { return env_key(e) == kv.key(); };
    if (const auto it = std::find_if(p.env.begin(), p.env.end(), same_key); it != p.env.end()) *it = entry;
    else p.env.push_back(entry);
  }
  // The container's own stop signal wins over its image's (CRI's Signal enum: SIGNAL_SIGQUIT,
  // SIGNAL_SIGRTMINPLUS3, ...; RUNTIME_DEFAULT leaves it to the image, then SIGTERM).
  if (config.stop_signal() != runtime::v1::SIGNAL_RUNTIME_DEFAULT) {
    // lxe-init sends it; a system container (an LXD image, no command) runs the image's own init,
    // which LXD stops its own way (SIGPWR): refused rather than ignored.
    if (!image && config.command().empty() && config.args().empty())
      return std::string("stop_signal is set, but this container runs its image's own init (an LXD image and no "
                         "command), which LXD stops with SIGPWR; give a command or leave stop_signal unset");
    std::string name = runtime::v1::Signal_Name(config.stop_signal());
    if (name.rfind("SIGNAL_", 0) != 0)
      return "stop_signal " + std::to_string(static_cast<int>(config.stop_signal())) +
             " is not a value of CRI's Signal enum";
    name = name.substr(7);
    for (const auto& [word, sign] : {std::pair<std::string, std::string>{"PLUS", "+"}, {"MINUS", "-"}})
      if (const auto at = name.find(word); at != std::string::npos) name.replace(at, word.size(), sign);
    p.stop_signal = signal_number(name);
    if (!p.stop_signal) return "stop_signal " + name + " is no signal lxe knows";
  } else if (image && !image->config.stop_signal.empty()) {
    p.stop_signal = signal_number(image->config.stop_signal);
    if (!p.stop_signal) return "the image's stop signal '" + image->config.stop_signal + "' is no signal lxe knows";
  }
  p.cwd = !config.working_dir().empty() ? config.working_dir() : image ? image->config.working_dir : "";

  // The user: the security context's, else the image's; names resolve in the image's passwd.
  const bool has_sc = config.has_linux() && config.linux().has_security_context();
  const auto& sc = config.linux().security_context();
  // A group without a user is refused, as containerd refuses it: whose group would it be?
  if (has_sc && sc.has_run_as_group() && !sc.has_run_as_user() && sc.run_as_username().empty())
    return std::string("run_as_group is set without run_as_user or run_as_username");
  const auto user_named = [&](const std::string& name) -> const ImageUsers::User* {
    if (!image) return nullptr;
    const auto it = image->users.users.find(name);
    return it == image->users.users.end() ? nullptr : &it->second;
  };
  const auto gid_of_uid = [&](int64_t uid) -> int64_t {
    if (image)
      for (const auto& [_, u] : image->users.users)
        if (u.uid == uid) return u.gid;
    return 0;
  };
  if (has_sc && sc.has_run_as_user()) {
    p.uid = sc.run_as_user().value();
    if (image) p.gid = gid_of_uid(*p.uid);
  } else if (has_sc && !sc.run_as_username().empty()) {
    const auto* u = user_named(sc.run_as_username());
    if (!u)
      return "run_as_username '" + sc.run_as_username() + "' is not a user of the image (its /etc/passwd)" +
             std::string(image ? "" : "; lxe resolves user names only for OCI images it pulled");
    p.uid = u->uid;
    p.gid = u->gid;
  } else if (image && !image->config.user.empty()) {
    const std::string& spec = image->config.user;
    const auto colon = spec.find(':');
    const std::string user = spec.substr(0, colon);
    const std::string group = colon == std::string::npos ? "" : spec.substr(colon + 1);
    if (const auto uid = number(user)) {
      p.uid = *uid;
      p.gid = gid_of_uid(*uid);
    } else if (const auto* u = user_named(user)) {
      p.uid = u->uid;
      p.gid = u->gid;
    } else {
      return "the image's user '" + user + "' is not in its /etc/passwd";
    }
    if (!group.empty()) {
      if (const auto gid = number(group)) {
        p.gid = *gid;
      } else if (const auto it = image->users.groups.find(group); it != image->users.groups.end()) {
        p.gid = it->second;
      } else {
        return "the image's group '" + group + "' is not in its /etc/group";
      }
    }
  }
  if (has_sc && sc.has_run_as_group()) {
    p.gid = sc.run_as_group().value();
  }
  return p;
}

}  // namespace lxe::model
