#include "reconcile/cni.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/subprocess.h"

namespace lxe::reconcile::cni {

namespace {

namespace fs = std::filesystem;

// The versions whose configuration and result formats lxe reads (results with "ips").
const std::set<std::string>& supported_versions() {
  static const std::set<std::string> versions = {"0.3.0", "0.3.1", "0.4.0", "1.0.0"};
  return versions;
}

bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A configuration file as a list: a .conflist as it is, a .conf (one plugin) wrapped in a list.
Network parse_network_file(const fs::path& path) {
  const auto json = nlohmann::json::parse(read_file(path), nullptr, false);
  if (!json.is_object()) throw std::runtime_error(path.string() + " is not a JSON object");
  Network n;
  n.file = path.string();
  n.name = json.value("name", "");
  n.cni_version = json.value("cniVersion", "");
  if (json.contains("plugins")) {
    if (!json["plugins"].is_array()) throw std::runtime_error(path.string() + ": \"plugins\" is not a list");
    n.plugins = json["plugins"];
  } else {
    if (has_suffix(path.string(), ".conflist")) throw std::runtime_error(path.string() + " has no \"plugins\"");
    nlohmann::json plugin = json;
    plugin.erase("name");
    plugin.erase("cniVersion");
    n.plugins = nlohmann::json::array({plugin});
  }
  if (n.name.empty()) throw std::runtime_error(path.string() + " has no network \"name\"");
  if (supported_versions().count(n.cni_version) == 0)
    throw std::runtime_error(path.string() + ": cniVersion '" + n.cni_version +
                             "' is not one lxe supports (0.3.0, 0.3.1, 0.4.0, 1.0.0)");
  if (n.plugins.empty()) throw std::runtime_error(path.string() + " lists no plugins");
  for (const auto& p : n.plugins)
    if (!p.is_object() || !p.contains("type") || !p["type"].is_string() || p["type"].get<std::string>().empty())
      throw std::runtime_error(path.string() + ": a plugin has no \"type\"");
  return n;
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
}

// The configuration one plugin of the list gets on stdin.
nlohmann::json plugin_config(const Network& network, const nlohmann::json& plugin, const nlohmann::json& prev_result,
                             const std::vector<PortMapping>& ports) {
  nlohmann::json config = plugin;
  config["name"] = network.name;
  config["cniVersion"] = network.cni_version;
  if (!prev_result.is_null()) config["prevResult"] = prev_result;
  // runtimeConfig carries only what the plugin's capabilities ask for.
  const auto caps = plugin.find("capabilities");
  if (caps != plugin.end() && caps->is_object() && caps->value("portMappings", false) && !ports.empty()) {
    nlohmann::json mappings = nlohmann::json::array();
    for (const auto& p : ports) {
      nlohmann::json m = {{"hostPort", p.host_port}, {"containerPort", p.container_port}, {"protocol", p.protocol}};
      if (!p.host_ip.empty()) m["hostIP"] = p.host_ip;
      mappings.push_back(m);
    }
    config["runtimeConfig"]["portMappings"] = mappings;
  }
  return config;
}

std::vector<std::string> plugin_env(const Options& options, const std::string& command, const PodRef& pod,
                                    const std::string& netns) {
  const char* path = std::getenv("PATH");
  return {
      "CNI_COMMAND=" + command,
      "CNI_CONTAINERID=" + pod.sandbox_id,
      "CNI_NETNS=" + netns,
      "CNI_IFNAME=eth0",
      "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=" + pod.namespace_ + ";K8S_POD_NAME=" + pod.name +
          ";K8S_POD_INFRA_CONTAINER_ID=" + pod.sandbox_id + ";K8S_POD_UID=" + pod.uid,
      "CNI_PATH=" + join(options.bin_dirs, ":"),
      // Plugins run host tools (portmap runs iptables).
      std::string("PATH=") + (path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
  };
}

// One plugin call; its result (null when it printed none, as DEL does).
nlohmann::json call(const Options& options, const std::string& command, const nlohmann::json& plugin,
                    const nlohmann::json& config, const PodRef& pod, const std::string& netns) {
  const std::string type = plugin.at("type").get<std::string>();
  const std::string binary = find_plugin(options, type);
  if (binary.empty())
    throw Error("CNI plugin '" + type + "' is not in " + join(options.bin_dirs, ", "));
  ProcessSpec spec;
  spec.argv = {binary};
  spec.env = plugin_env(options, command, pod, netns);
  spec.input = config.dump();
  spec.timeout = options.plugin_timeout;
  const ProcessExit exit = run_process(spec);
  const std::string what = "CNI " + command + " of plugin " + type;
  if (exit.timed_out)
    throw Error(what + " did not finish within " + std::to_string(options.plugin_timeout.count()) + " ms");
  const auto output = nlohmann::json::parse(exit.out, nullptr, false);
  if (!WIFEXITED(exit.status) || WEXITSTATUS(exit.status) != 0) {
    std::string why;
    if (output.is_object() && output.contains("msg")) {
      why = output.value("msg", "");
      if (output.contains("details") && output["details"].is_string() && !output["details"].get<std::string>().empty())
        why += ": " + output["details"].get<std::string>();
      if (output.contains("code")) why += " (code " + output["code"].dump() + ")";
    } else {
      why = exit.err.empty() ? exit.out : exit.err;
      while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
      if (why.empty())
        why = WIFEXITED(exit.status) ? "exit code " + std::to_string(WEXITSTATUS(exit.status)) : "killed by a signal";
    }
    throw Error(what + " failed: " + why);
  }
  if (command == "ADD" && !output.is_object()) throw Error(what + " printed no result");
  return output.is_discarded() ? nlohmann::json() : output;
}

}  // namespace

nlohmann::json Network::to_json() const {
  return {{"name", name}, {"cniVersion", cni_version}, {"plugins", plugins}, {"file", file}};
}

Network Network::from_json(const nlohmann::json& stored) {
  if (!stored.is_object() || !stored.contains("plugins") || !stored["plugins"].is_array())
    throw std::runtime_error("a stored CNI network is not an object with plugins");
  Network n;
  n.name = stored.value("name", "");
  n.cni_version = stored.value("cniVersion", "");
  n.plugins = stored["plugins"];
  n.file = stored.value("file", "");
  return n;
}

std::string pod_ref_problem(const PodRef& pod) {
  for (const auto& [what, value] : {std::pair<const char*, const std::string&>{"metadata.name", pod.name},
                                    {"metadata.namespace", pod.namespace_},
                                    {"metadata.uid", pod.uid}})
    if (value.find_first_of(";=") != std::string::npos)
      return std::string(what) + " '" + value + "' contains ';' or '=', which CNI_ARGS cannot carry";
  return "";
}

std::string find_plugin(const Options& options, const std::string& type) {
  if (type.empty() || type.find('/') != std::string::npos || type == "." || type == "..") return "";
  for (const auto& dir : options.bin_dirs) {
    const std::string path = dir + "/" + type;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

Loaded load_network(const Options& options) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(options.conf_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file(ec) &&
        (has_suffix(name, ".conf") || has_suffix(name, ".conflist") || has_suffix(name, ".json")))
      files.push_back(entry.path());
  }
  if (ec) return {std::nullopt, "cannot read the CNI conf dir " + options.conf_dir + ": " + ec.message()};
  if (files.empty())
    return {std::nullopt, "no CNI network config (.conf, .conflist or .json) in " + options.conf_dir};
  std::sort(files.begin(), files.end());
  try {
    Network network = parse_network_file(files.front());
    for (const auto& p : network.plugins) {
      const std::string type = p["type"].get<std::string>();
      if (find_plugin(options, type).empty())
        return {std::nullopt, network.file + ": CNI plugin '" + type + "' is not in " + join(options.bin_dirs, ", ")};
    }
    return {std::move(network), ""};
  } catch (const std::exception& e) {
    return {std::nullopt, e.what()};
  }
}

nlohmann::json add(const Options& options, const Network& network, const PodRef& pod, const std::string& netns,
                   const std::vector<PortMapping>& ports) {
  nlohmann::json result;
  for (const auto& plugin : network.plugins)
    result = call(options, "ADD", plugin, plugin_config(network, plugin, result, ports), pod, netns);
  return result;
}

void del(const Options& options, const Network& network, const PodRef& pod, const std::string& netns,
         const nlohmann::json& prev_result, const std::vector<PortMapping>& ports) {
  // Every plugin is asked, even after one failed, so that what the others hold is released; the
  // first failure is reported.
  std::string first_failure;
  for (auto it = network.plugins.rbegin(); it != network.plugins.rend(); ++it) {
    try {
      call(options, "DEL", *it, plugin_config(network, *it, prev_result, ports), pod, netns);
    } catch (const Error& e) {
      if (first_failure.empty()) first_failure = e.what();
    }
  }
  if (!first_failure.empty()) throw Error(first_failure);
}

std::vector<std::string> result_addresses(const nlohmann::json& result) {
  std::vector<std::string> v4, v6;
  if (!result.is_object() || !result.contains("ips") || !result["ips"].is_array()) return {};
  for (const auto& ip : result["ips"]) {
    if (!ip.is_object() || !ip.contains("address") || !ip["address"].is_string()) continue;
    const std::string address = ip["address"].get<std::string>();
    (address.find(':') != std::string::npos ? v6 : v4).push_back(address);
  }
  v4.insert(v4.end(), v6.begin(), v6.end());
  return v4;
}

}  // namespace lxe::reconcile::cni
