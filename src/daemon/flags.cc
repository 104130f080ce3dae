#include "daemon/flags.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <memory>

#include "common/cli.h"
#include "common/defaults.h"
#include "model/ipv4.h"
#include "model/naming.h"

namespace lxe::daemon {
namespace {

constexpr std::array kLogLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};

// `lxe --help`: usage, what lxe is, the flags.
class Help : public cli::HelpFormatter {
 public:
  std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const override {
    return "Usage: lxe [flags]\n\n" + app->get_description() + "\n\nFlags:\n" + option_lines(cli::flags_of(*app));
  }
};

// A value may not be empty: "--db=" is a mistake, not "no store".
std::string non_empty(const std::string& value) { return value.empty() ? "needs a non-empty value" : ""; }

std::string log_level(const std::string& value) {
  for (const char* level : kLogLevels)
    if (value == level) return "";
  return "'" + value + "' is not one of trace, debug, info, warn, error, critical, off";
}

std::string name_prefix(const std::string& value) {
  if (model::valid_lxd_name_prefix(value)) return "";
  return "'" + value + "' is not 1 to 20 characters of [a-z0-9-] starting with a letter and not ending with '-'";
}

// An LXD storage pool name as LXD takes it (and as it can stand in an instance's root device).
std::string storage_pool(const std::string& value) {
  bool ok = !value.empty() && value.size() <= 63 && value.front() != '-' && value.front() != '.';
  for (const char c : value)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                c == '.');
  if (ok) return "";
  return "'" + value + "' is not an LXD storage pool name: 1 to 63 letters, digits, '-', '_' or '.', not starting with '-' or '.'";
}

std::string network_plugin(const std::string& value) {
  if (value == "bridge" || value == "cni" || value == "none") return "";
  return "'" + value +
         "' is not a network plugin lxe has: bridge (lxe's own LXD bridge), cni (CNI plugins) or none (loopback only)";
}

std::string pod_namespaces(const std::string& value) {
  if (value == "pinned" || value == "holder") return "";
  return "'" + value + "' is not a way lxe keeps pod namespaces: pinned (by lxe, where a pod can do without a "
         "holder container) or holder (a holder container for every pod)";
}

// A Linux interface name (at most 15 characters) that LXD takes for a network.
std::string bridge_name(const std::string& value) {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  bool ok = !value.empty() && value.size() <= 15 && letter(value[0]);
  for (const char c : value) ok = ok && (letter(c) || (c >= '0' && c <= '9') || c == '-' || c == '_');
  if (ok) return "";
  return "'" + value + "' is not an interface name: 1 to 15 letters, digits, '-' or '_', starting with a letter";
}

std::string bridge_subnet(const std::string& value) { return model::parse_pod_subnet(value).error; }

std::string absolute_path(const std::string& value) {
  if (!value.empty() && value.front() == '/') return "";
  return "'" + value + "' is not an absolute path";
}

// A path that goes into raw.lxc, which has no quoting: absolute, no whitespace or control character.
std::string raw_lxc_path(const std::string& value) {
  if (auto problem = absolute_path(value); !problem.empty()) return problem;
  for (const char c : value)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return "'" + value + "' contains whitespace or a control character (it goes into LXC's config)";
  return "";
}

std::string ip_literal(const std::string& value) {
  std::string address = value;
  if (address.size() > 2 && address.front() == '[' && address.back() == ']') address = address.substr(1, address.size() - 2);
  unsigned char bytes[16];
  if (::inet_pton(AF_INET, address.c_str(), bytes) == 1 || ::inet_pton(AF_INET6, address.c_str(), bytes) == 1) return "";
  return "'" + value + "' is not an IP address";
}

std::string absolute_paths(const std::string& value) {
  size_t start = 0;
  while (start <= value.size()) {
    const size_t end = std::min(value.find(':', start), value.size());
    if (auto problem = absolute_path(value.substr(start, end - start)); !problem.empty()) return problem;
    start = end + 1;
  }
  return "";
}

// Every flag, bound to `o`: the parser and `lxe --help` both come from these declarations. Values
// are checked as they are parsed; the last of --log-level, --verbose and --debug wins.
void declare(CLI::App& app, Options& o) {
  app.description(
      "lxe serves the Kubernetes Container Runtime Interface (CRI v1) and runs pods as LXD\n"
      "containers.");
  app.set_help_flag();  // our own --help below: lxe prints its help itself (main.cc)
  app.allow_extras();   // words CLI11 cannot place are reported by parse_flags, in one line
  app.formatter(std::make_shared<Help>());
  auto text = [&](const char* name, std::string& into, const char* value_name, const char* help) {
    return app.add_option(name, into, help)->option_text(value_name)->check(non_empty, "", "non-empty");
  };
  text("--socket", o.socket, "PATH", "CRI socket to serve on")->default_str(kDefaultSocket);
  text("--lxd-socket", o.lxd_socket, "PATH",
       "LXD's unix socket (default: the first that exists of\n"
       "/var/snap/lxd/common/lxd/unix.socket, /var/lib/lxd/unix.socket)");
  text("--lxd-remote-config", o.lxd_remote_config, "PATH",
       "lxc's config.yml; its default remote, which must be a unix\n"
       "socket, names LXD's socket (--lxd-socket wins), and its image\n"
       "servers are what PullImage of '<remote>:<alias>' downloads from");
  text("--db", o.db, "PATH",
       "the store; files shared with containers live in the same\n"
       "directory")
      ->default_str(kDefaultDbPath);
  text("--lxd-name-prefix", o.lxd_name_prefix, "PREFIX", "first part of the LXD names of lxe's objects")
      ->check(name_prefix, "", "prefix")
      ->default_str(o.lxd_name_prefix);
  text("--storage-pool", o.storage_pool, "POOL",
       "the LXD storage pool lxe's instances are made on (a copy-on-write\n"
       "pool, btrfs or zfs, makes CreateContainer several times faster\n"
       "than dir; scripts/setup.sh makes one named lxe); default: the\n"
       "pool of the default profile's root disk")
      ->check(storage_pool, "", "pool");
  app.add_option("--ready-instances", o.ready_instances,
                 "stopped instances of each image in use that lxe keeps made\n"
                 "ahead: CreateContainer claims one (a PATCH and a rename)\n"
                 "instead of LXD's create; 0 turns this off. Each takes an\n"
                 "instance's disk space (little on btrfs or zfs, a full copy\n"
                 "of the image on dir)")
      ->option_text("N")
      ->check(CLI::Range(0, 16))
      ->default_str("1");
  text("--network-plugin", o.network_plugin, "PLUGIN",
       "how pods are networked: bridge (lxe's own LXD bridge, an\n"
       "address per pod), cni (the CNI network of --cni-conf-dir)\n"
       "or none (loopback only)")
      ->check(network_plugin, "", "plugin")
      ->default_str(o.network_plugin);
  text("--pod-namespaces", o.pod_namespaces, "KEEPER",
       "who keeps a pod's network and IPC namespaces: pinned (lxe\n"
       "makes them and keeps them by bind mounts under its state\n"
       "folder: no LXD container per pod) or holder (an LXD container\n"
       "per pod). Pods that share a PID namespace, use a namespace of\n"
       "the host's or publish host ports on the bridge plugin's network\n"
       "always get a holder")
      ->check(pod_namespaces, "", "keeper")
      ->default_str(o.pod_namespaces);
  text("--bridge-name", o.bridge_name, "NAME", "the LXD bridge lxe makes and owns (bridge plugin)")
      ->check(bridge_name, "", "name")
      ->default_str(o.bridge_name);
  text("--bridge-subnet", o.bridge_subnet, "CIDR",
       "pod addresses (bridge plugin); the bridge takes the first;\n"
       "must not overlap the host's networks")
      ->check(bridge_subnet, "", "subnet")
      ->default_str(o.bridge_subnet);
  app.add_option("--bridge-nat", o.bridge_nat,
                 "masquerade pod traffic that leaves the host (bridge plugin;\n"
                 "applies when lxe makes the bridge)")
      ->option_text("true|false")
      ->default_str("true");
  text("--cni-conf-dir", o.cni_conf_dir, "DIR",
       "CNI network configs (cni plugin): the first .conf, .conflist\n"
       "or .json file in lexical order is used")
      ->check(absolute_path, "", "path")
      ->default_str(o.cni_conf_dir);
  text("--cni-bin-dir", o.cni_bin_dir, "DIRS",
       "CNI plugins (cni plugin), ':'-separated; Debian's /usr/lib/cni\n"
       "is searched after them")
      ->check(absolute_paths, "", "paths")
      ->default_str(o.cni_bin_dir);
  text("--host-netns", o.host_netns, "PATH",
       "the network namespace host network pods join (an absolute\n"
       "path to a net namespace file)")
      ->check(raw_lxc_path, "", "path")
      ->default_str(o.host_netns);
  text("--host-pidns", o.host_pidns, "PATH",
       "the PID namespace host PID pods join (hostPID; an absolute path\n"
       "to a pid namespace file)")
      ->check(raw_lxc_path, "", "path")
      ->default_str(o.host_pidns);
  text("--host-ipcns", o.host_ipcns, "PATH",
       "the IPC namespace host IPC pods join (hostIPC; an absolute path\n"
       "to an ipc namespace file)")
      ->check(raw_lxc_path, "", "path")
      ->default_str(o.host_ipcns);
  text("--streaming-bindaddr", o.streaming_bindaddr, "ADDR",
       "the IP address of the streaming server (exec, attach,\n"
       "port-forward); kubelet on this node connects to it")
      ->check(ip_literal, "", "address")
      ->default_str(o.streaming_bindaddr);
  app.add_option("--streaming-port", o.streaming_port, "its TCP port; 0 takes a free one")
      ->option_text("PORT")
      ->check(CLI::Range(0, 65535))
      ->default_str("0");
  text("--streaming-tls-cert", o.streaming_tls_cert, "PATH",
       "a PEM certificate (chain): the streaming server speaks TLS\n"
       "(https URLs); needs --streaming-tls-key")
      ->check(absolute_path, "", "path");
  text("--streaming-tls-key", o.streaming_tls_key, "PATH", "the PEM private key of --streaming-tls-cert")
      ->check(absolute_path, "", "path");
  text("--metrics-bindaddr", o.metrics_bindaddr, "ADDR",
       "the IP address lxe serves its own metrics on (Prometheus\n"
       "text format, /metrics), with --metrics-port")
      ->check(ip_literal, "", "address")
      ->default_str(o.metrics_bindaddr);
  app.add_option("--metrics-port", o.metrics_port,
                 "the TCP port of /metrics; off unless given; 0 takes a\nfree one (logged)")
      ->option_text("PORT")
      ->check(CLI::Range(0, 65535))
      ->default_str("off");
  text("--registries-conf", o.registries_conf, "PATH",
       "registries.conf for image pulls (mirrors, insecure registries); default: the system's "
       "/etc/containers/registries.conf")
      ->check(absolute_path, "", "path");
  app.add_option("--image-pull-timeout", o.image_pull_timeout_s,
                 "the longest an image pull may take, in seconds, when kubelet sets no deadline")
      ->option_text("SECONDS")
      ->check(CLI::Range(1, 86400))
      ->default_str("600");
  app.add_option("--writable-layer-refresh", o.writable_layer_refresh_s,
                 "container stats: how old, in seconds, the measured usage of a\n"
                 "container's writable layer (its rootfs) may get before a\n"
                 "background walk measures it again")
      ->option_text("SECONDS")
      ->check(CLI::Range(1, 86400))
      ->default_str("60");
  app.add_option("--writable-layer-max-entries", o.writable_layer_max_entries,
                 "container stats: the most files and folders one walk of a\n"
                 "writable layer looks at; a container with more reports no\n"
                 "writable layer usage")
      ->option_text("N")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000'000}))
      ->default_str("1000000");
  text("--log-level", o.log_level, "LEVEL", "trace, debug, info, warn, error, critical or off")
      ->check(log_level, "", "level")
      ->default_str(o.log_level)
      ->trigger_on_parse();
  auto flag = [&](const char* name, std::function<void()> set, const char* help) {
    return app.add_flag_callback(name, std::move(set), help)->disable_flag_override()->trigger_on_parse();
  };
  flag("--verbose", [&o] { o.log_level = "info"; }, "same as --log-level info");
  flag("--debug", [&o] { o.log_level = "debug"; }, "same as --log-level debug");
  flag("-h,--help", [&o] { o.help = true; }, "print this help and exit");
  flag("--version", [&o] { o.version = true; }, "print the version and exit");
}

}  // namespace

std::string usage() {
  Options defaults;
  CLI::App app("", "lxe");
  declare(app, defaults);
  return app.help();
}

std::variant<Options, FlagError> parse_flags(const std::vector<std::string>& args) {
  Options options;
  options.socket = kDefaultSocket;
  options.db = kDefaultDbPath;
  CLI::App app("", "lxe");
  declare(app, options);
  try {
    app.parse(cli::parse_order(args));
  } catch (const CLI::ParseError& e) {
    return FlagError{cli::describe(e)};
  }
  if (options.streaming_tls_cert.empty() != options.streaming_tls_key.empty())
    return FlagError{"--streaming-tls-cert and --streaming-tls-key go together: give both or neither"};
  if (const std::string word = cli::first_unplaced(app); !word.empty()) {
    if (word.size() > 1 && word[0] == '-') return FlagError{"unknown flag " + word + " (see lxe --help)"};
    return FlagError{"unexpected argument '" + word + "': lxe takes flags only (see lxe --help)"};
  }
  return options;
}

}  // namespace lxe::daemon
