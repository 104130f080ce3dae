#include "daemon/flags.h"

#include <array>
#include <functional>
#include <map>

#include "common/defaults.h"
#include "reconcile/naming.h"

namespace lxe::daemon {
namespace {

constexpr std::array kLogLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};

bool valid_log_level(const std::string& level) {
  for (const char* l : kLogLevels)
    if (level == l) return true;
  return false;
}

}  // namespace

std::string usage() {
  return "Usage: lxe [flags]\n"
         "\n"
         "lxe serves the Kubernetes Container Runtime Interface (CRI v1) and runs pods as LXD\n"
         "containers.\n"
         "\n"
         "Flags:\n"
         "  --socket PATH             CRI socket to serve on (default /run/lxe.sock)\n"
         "  --lxd-socket PATH         LXD's unix socket (default: the first that exists of\n"
         "                            /var/snap/lxd/common/lxd/unix.socket, /var/lib/lxd/unix.socket)\n"
         "  --lxd-remote-config PATH  lxc's config.yml; its default remote, which must be a unix\n"
         "                            socket, names LXD's socket (--lxd-socket wins)\n"
         "  --db PATH                 the store (default /var/lib/lxe/lxe.db); files shared with\n"
         "                            containers live in the same directory\n"
         "  --lxd-name-prefix PREFIX  first part of the LXD names of lxe's objects (default lxe)\n"
         "  --log-level LEVEL         trace, debug, info, warn, error, critical or off (default info)\n"
         "  --verbose                 same as --log-level info\n"
         "  --debug                   same as --log-level debug\n"
         "  --help                    print this help and exit\n"
         "  --version                 print the version and exit\n";
}

std::variant<Options, FlagError> parse_flags(const std::vector<std::string>& args) {
  Options options;
  options.socket = kDefaultSocket;
  options.db = kDefaultDbPath;

  const std::map<std::string, std::string*> valued = {
      {"--socket", &options.socket},
      {"--lxd-socket", &options.lxd_socket},
      {"--lxd-remote-config", &options.lxd_remote_config},
      {"--db", &options.db},
      {"--log-level", &options.log_level},
      {"--lxd-name-prefix", &options.lxd_name_prefix},
  };
  const std::map<std::string, std::function<void()>> switches = {
      {"--verbose", [&] { options.log_level = "info"; }},
      {"--debug", [&] { options.log_level = "debug"; }},
      {"--help", [&] { options.help = true; }},
      {"-h", [&] { options.help = true; }},
      {"--version", [&] { options.version = true; }},
  };

  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (const auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    if (const auto it = switches.find(flag); it != switches.end()) {
      if (value) return FlagError{"flag " + flag + " takes no value"};
      it->second();
      continue;
    }
    const auto it = valued.find(flag);
    if (it == valued.end()) {
      if (flag.rfind("-", 0) == 0) return FlagError{"unknown flag " + flag + " (see lxe --help)"};
      return FlagError{"unexpected argument '" + flag + "': lxe takes flags only (see lxe --help)"};
    }
    if (!value) {
      if (i + 1 >= args.size()) return FlagError{"flag " + flag + " needs a value"};
      value = args[++i];
    }
    if (value->empty()) return FlagError{"flag " + flag + " needs a non-empty value"};
    *it->second = *value;
  }
  if (!reconcile::valid_lxd_name_prefix(options.lxd_name_prefix))
    return FlagError{"--lxd-name-prefix " + options.lxd_name_prefix +
                     ": use 1 to 20 characters of [a-z0-9-], starting with a letter, not ending with '-'"};
  if (!valid_log_level(options.log_level))
    return FlagError{"--log-level " + options.log_level +
                     ": use one of trace, debug, info, warn, error, critical, off"};
  return options;
}

}  // namespace lxe::daemon
