// CNI mode (--network-plugin cni): the network configuration lxe loads from the conf dir, and the
// plugin calls it makes for a pod, as the CNI specification (SPEC.md, versions 0.3.0 to 1.0.0)
// describes them: a plugin is an executable found in the bin dirs, called with CNI_* variables and
// its configuration on stdin; a configuration list runs its plugins in order for ADD (each given
// the previous one's result) and in reverse for DEL.
//
// The network a pod was set up with, its ADD result and how far ADD got are kept in the pod's
// record (migrations/0004), so an lxe restart never runs ADD again for a pod that has its result
// and DEL has what it needs after a crash or a change of the conf dir.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lxe::reconcile::cni {

struct Options {
  std::string conf_dir = "/etc/cni/net.d";
  // Searched in order for a plugin's executable (CNI_PATH). Debian's containernetworking-plugins
  // installs to /usr/lib/cni.
  std::vector<std::string> bin_dirs = {"/opt/cni/bin", "/usr/lib/cni"};
  std::chrono::milliseconds plugin_timeout{std::chrono::seconds(60)};
};

// A network configuration list: its name, version and plugins (each a JSON object with "type"),
// and the file it came from. A single-plugin .conf file becomes a list of one.
struct Network {
  std::string name;
  std::string cni_version;
  nlohmann::json plugins = nlohmann::json::array();
  std::string file;

  // What the store keeps (and reads back with from_json): name, cniVersion, plugins, file.
  nlohmann::json to_json() const;
  // Throws std::runtime_error when `stored` is not what to_json wrote.
  static Network from_json(const nlohmann::json& stored);
};

// The first file of the conf dir in lexical order ending in .conf, .conflist or .json, parsed and
// checked: a name, a supported cniVersion, plugins with types whose executables are in the bin
// dirs. `problem` says why there is no usable network (for NetworkReady and RunPodSandbox).
struct Loaded {
  std::optional<Network> network;
  std::string problem;
};
Loaded load_network(const Options& options);

// The executable of plugin `type` in the bin dirs; "" when none.
std::string find_plugin(const Options& options, const std::string& type);

// Who the call is for: CNI_CONTAINERID and the K8S_* values of CNI_ARGS.
struct PodRef {
  std::string sandbox_id;
  std::string name;
  std::string namespace_;
  std::string uid;
};

// Why `pod` cannot be passed in CNI_ARGS (a ';' or '=' in its name, namespace or uid would add
// or change a pair the plugins read); "" when it can.
std::string pod_ref_problem(const PodRef& pod);

// runtimeConfig.portMappings, for plugins whose capabilities ask for it (portmap).
struct PortMapping {
  int host_port = 0;
  int container_port = 0;
  std::string protocol;  // "tcp", "udp", "sctp"
  std::string host_ip;
};

// A plugin failed: it exited non-zero (its error object's msg and details), timed out, or
// printed no result.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ADD of every plugin of `network`, in order, for the pod whose network namespace is `netns`;
// the last plugin's result.
nlohmann::json add(const Options& options, const Network& network, const PodRef& pod, const std::string& netns,
                   const std::vector<PortMapping>& ports);

// DEL of every plugin, in reverse order. `netns` may be "" when the namespace is gone (plugins
// then release what they hold outside it); `prev_result` is ADD's result (null when ADD never
// finished). Plugins treat a DEL of something already gone as success.
void del(const Options& options, const Network& network, const PodRef& pod, const std::string& netns,
         const nlohmann::json& prev_result, const std::vector<PortMapping>& ports);

// The addresses of an ADD result with their prefix ("10.22.0.5/16"), IPv4 first, in the result's
// order otherwise. Results of 0.3.0 and later carry them in "ips".
std::vector<std::string> result_addresses(const nlohmann::json& result);

}  // namespace lxe::reconcile::cni
