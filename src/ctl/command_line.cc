#include "ctl/command_line.h"

#include <memory>

#include "common/cli.h"
#include "common/defaults.h"

namespace lxe::ctl {
namespace {

using C = Command;

// The group of the app's own copies of the command flags. Not "" (CLI11's hidden group), because
// CLI11 gives a flag of that group no name, also in its error messages; the help leaves it out.
const char* const kCommandFlagsGroup = "command flags";

const char* const kAbout =
    "Inspects lxe's store read-only: lxe-ctl never writes to it, never migrates it, and does not\n"
    "block lxe while it runs. `diff` and `show --lxd` also read LXD's API, and change nothing;\n"
    "`top` reads the containers' cgroup files on the host.";

const char* const kFooter =
    "Output: aligned tables for people; --json or --output json|yaml for scripts (stable field\n"
    "names, times as RFC 3339 UTC strings, null when not set).\n"
    "\n"
    "Exit codes:\n"
    "  0  success (diff: no drift)\n"
    "  1  diff: drift found\n"
    "  2  usage error\n"
    "  3  unknown ID, or an ID prefix that matches more than one object (top: no container)\n"
    "  4  the store is unusable: missing, locked, unreadable, or of another schema version\n"
    "     (written by a newer lxe, or not yet migrated by this version's lxe)\n"
    "  5  LXD is unreachable or refused a read (diff, show --lxd)\n"
    "  6  internal error";

// The help of lxe-ctl and of each command: usage, what it does, its flags, the global flags.
class Help : public cli::HelpFormatter {
 public:
  std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const override {
    const CLI::App* root = app;
    while (root->get_parent() != nullptr) root = root->get_parent();
    auto globals_of = [&](bool with_version) {
      std::vector<const CLI::Option*> flags;
      for (const auto* opt : visible_flags(*root))
        if (with_version || opt->get_name() != "--version") flags.push_back(opt);
      return "Global flags:\n" + option_lines(flags);
    };
    if (app == root) {
      const std::string globals = globals_of(true);
      std::vector<std::pair<std::string, std::string>> commands;
      for (const auto& c : command_infos())
        commands.emplace_back(std::string(c.name) + (*c.args ? " " : "") + c.args,
                              std::string(c.summary) + (*c.alias ? " (alias: " + std::string(c.alias) + ")" : ""));
      return "Usage: lxe-ctl [global flags] <command> [flags] [args]\n\n" + app->get_description() +
             "\n\nCommands:\n" + two_columns(commands) + "\n" + globals + "\n" + app->get_footer() + "\n";
    }
    const CommandInfo& c = *command_info(app->get_name());
    const auto flags = visible_flags(*app);
    const std::string globals = globals_of(false);  // --version is no flag of a command
    return "Usage: lxe-ctl " + std::string(c.name) + (c.command == C::Help ? "" : " [flags]") + (*c.args ? " " : "") +
           c.args + (*c.alias ? "   (alias: " + std::string(c.alias) + ")" : "") + "\n\n" + app->get_description() +
           "\n\n" + (flags.empty() ? "" : "Flags:\n" + option_lines(flags) + "\n") + globals;
  }

 private:
  static std::vector<const CLI::Option*> visible_flags(const CLI::App& app) {
    std::vector<const CLI::Option*> out;
    for (const auto* opt : cli::flags_of(app))
      if (opt->get_group() != kCommandFlagsGroup) out.push_back(opt);
    return out;
  }
};

void add_output_flags(CLI::App& app, Given& g) {
  app.add_flag("--json", g.json, "JSON output, the same as --output json")->disable_flag_override();
  app.add_option("-o,--output", g.output, "table (default), json or yaml")->option_text("FMT");
}

void add_list_flags(CLI::App& app, Given& g, Command command) {
  const bool pods = command == C::Sandboxes;
  const char* const of = pods ? "pods" : "containers";
  app.add_option("--state", g.state,
                 pods ? "ready or notready (SANDBOX_READY / SANDBOX_NOTREADY)"
                      : "created, running, exited or unknown (CONTAINER_RUNNING, ...)")
      ->option_text("STATE");
  app.add_option("--pod", g.pod,
                 pods ? "pod name, or pod sandbox ID prefix"
                      : "containers of this pod: pod name, or pod sandbox ID prefix")
      ->option_text("POD");
  app.add_option("-n,--namespace", g.namespace_,
                 pods ? "pods of this namespace" : "containers of pods of this namespace")
      ->option_text("NS");
  if (!pods) app.add_option("--name", g.name, "containers of this name")->option_text("NAME");
  // Each -l takes one word and they add up, also across a -l before the command and one after.
  app.add_option_function<std::vector<std::string>>(
         "-l,--label", [&g](const std::vector<std::string>& v) { g.labels.insert(g.labels.end(), v.begin(), v.end()); },
         std::string(of) + " with this label (repeat: all must match)")
      ->option_text("K=V")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

void add_show_flags(CLI::App& app, Given& g) {
  app.add_flag("--lxd", g.lxd,
               "also read the LXD instance (status, managed limits, devices); LXD is\n"
               "only read, never changed")
      ->disable_flag_override();
}

void add_events_flags(CLI::App& app, Given& g) {
  app.add_flag("-f,--follow", g.follow,
               "keep printing new events (polls the store every 500 ms) until\n"
               "interrupted (SIGINT/SIGTERM). JSON output is then one object per line")
      ->disable_flag_override();
  app.add_option("--since", g.since,
                 "events at or after WHEN: a duration back from now (30s, 10m, 1h30m, 2d)\n"
                 "or an RFC 3339 time (2024-05-01T12:00:00Z)")
      ->option_text("WHEN");
  app.add_option("--tail", g.tail, "only the last N events (then follow, with --follow)")->option_text("N");
  app.add_option("--poll-interval", g.poll_interval, "how often --follow polls")
      ->option_text("D")
      ->default_str("500ms");
}

void add_diff_flags(CLI::App& app, Given& g) {
  app.add_option("--lxd-name-prefix", g.lxd_name_prefix,
                 "only LXD objects named P-... are this lxe's (as lxe's --lxd-name-prefix;\n"
                 "default: every object marked user.lxe.managed=true)")
      ->option_text("P");
  app.add_option("--settle", g.settle, "re-check drift after D and report what persists; 0: once")
      ->option_text("D")
      ->default_str("2s");
}

void add_top_flags(CLI::App& app, Given& g) {
  app.add_option("--interval", g.interval, "time between the two reads the CPU rate comes from (100ms to 60s)")
      ->option_text("D")
      ->default_str("1s");
  app.add_option("--sort", g.sort, "cpu or memory: the largest first (default: as containers lists them)")
      ->option_text("BY");
  app.add_flag("--pods", g.pods, "one row per pod: the sum of its containers shown")->disable_flag_override();
  app.add_option("--cgroup-root", g.cgroup_root, "where the host's cgroups are mounted")
      ->option_text("PATH")
      ->default_str("/sys/fs/cgroup");
}

void add_command_flags(CLI::App& app, Given& g, Command command) {
  if (command != C::Help) add_output_flags(app, g);
  if (command == C::Sandboxes || command == C::Containers || command == C::Top) add_list_flags(app, g, command);
  if (command == C::Show) add_show_flags(app, g);
  if (command == C::Events) add_events_flags(app, g);
  if (command == C::Diff) add_diff_flags(app, g);
  if (command == C::Top) add_top_flags(app, g);
}

}  // namespace

const std::vector<CommandInfo>& command_infos() {
  static const std::vector<CommandInfo> infos = {
      {C::Sandboxes, "sandboxes", "pods", "", "list pod sandboxes",
       "Lists the pod sandboxes in the store, oldest first: ID prefix, name, namespace, attempt, CRI state\n"
       "(as kubelet sees it), desired and observed state, age and last reconcile error."},
      {C::Containers, "containers", "ps", "", "list containers",
       "Lists the containers in the store, oldest first: ID prefix, name, attempt, namespace, pod, image,\n"
       "CRI state (as kubelet sees it), desired and observed state, age and last reconcile error. The\n"
       "JSON form uses CRI's state names (\"state\": \"CONTAINER_RUNNING\"), as `crictl ps -a -o json`."},
      {C::Top, "top", "", "[ID]", "CPU and memory of each container, from the host's cgroups",
       "Reads each container's cgroup on the host twice, --interval apart, as lxe's CRI stats do (LXD\n"
       "is not asked), and shows its CPU use between the two reads in cores, its CPU time, memory\n"
       "working set (what kubectl top shows as memory), RSS and processes (threads included).\n"
       "Containers that do not run show '-'. ID (an ID prefix or an LXD name) shows only the containers\n"
       "it names; the filters are those of `containers`. --pods adds up each pod's containers."},
      {C::Show, "show", "inspect", "ID", "everything stored about one sandbox or container",
       "Everything the store holds about one pod sandbox or container: the CRI config as received,\n"
       "desired vs observed state, generation numbers, the LXD objects it maps to, the resources in\n"
       "force, exit code, log path, and its most recent reconcile events. ID is a full ID, a unique\n"
       "prefix of one, or the LXD name of the object."},
      {C::Events, "events", "", "[ID]", "the reconcile event log, in time order (--follow to keep watching)",
       "The reconciler's event log in time order: for each action, what it worked toward (the\n"
       "generation), what it did, and what came of it (ok or error, with a detail). ID (full, a unique\n"
       "prefix, or an LXD name) limits it to one object; the log outlives the objects, so IDs of\n"
       "removed objects work too."},
      {C::Diff, "diff", "check", "", "compare the store with LXD and list the drift",
       "Compares the store with what LXD has (LXD's API is only read; nothing changes) and lists the\n"
       "drift:\n"
       "  missing   an object the store expects is not in LXD (instance or profile)\n"
       "  unknown   an LXD object marked as lxe's (user.lxe.managed=true) that the store does not know\n"
       "  foreign   an LXD object has the expected name but another lxe ID\n"
       "  state     LXD's running state contradicts the observed state in the store\n"
       "  limits    managed limits.* differ from the record's resources\n"
       "  device    a device lxe adds (lxe-init, lxe-state, lxe-log) is missing\n"
       "Objects lxe is still reconciling (observed generation behind, being removed, not yet\n"
       "observed) are not compared. A difference must still be there after --settle to count.\n"
       "Exit code 1 when drift is found, 0 when none: suitable for monitoring."},
      {C::Version, "version", "", "", "print lxe-ctl's version and the store schema version it reads",
       "Prints lxe-ctl's version and the store schema version it reads (it refuses any other)."},
      {C::Help, "help", "", "[CMD]", "this help, or a command's (also: lxe-ctl CMD --help)",
       "Prints the help of lxe-ctl, or of the command CMD."},
  };
  return infos;
}

const CommandInfo* command_info(const std::string& name_or_alias) {
  for (const auto& c : command_infos())
    if (name_or_alias == c.name || (*c.alias && name_or_alias == c.alias)) return &c;
  return nullptr;
}

CommandLine::CommandLine() : app_(kAbout, "lxe-ctl") {
  given_.db = kDefaultDbPath;
  app_.footer(kFooter);
  app_.formatter(std::make_shared<Help>());  // before the subcommands, which inherit it
  app_.set_help_flag();                      // lxe-ctl prints help as a command (Command::Help)
  app_.allow_extras();                       // parse_args names what CLI11 could not place
  app_.require_subcommand(0, 1);             // after the command, a command's name is an argument
  app_.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // the last one counts

  Given& g = given_;
  app_.add_option("--db", g.db, "lxe's store, as lxe's --db")->option_text("PATH")->default_str(kDefaultDbPath);
  app_.add_option("--lxd-socket", g.lxd_socket,
                  "LXD's unix socket (default: the first that exists of\n"
                  "/var/snap/lxd/common/lxd/unix.socket, /var/lib/lxd/unix.socket)")
      ->option_text("PATH");
  app_.add_option("--color", g.color, "auto (colour on a terminal unless NO_COLOR is set), always, never")
      ->option_text("WHEN");
  app_.add_flag("--no-color", g.no_color, "the same as --color never")->disable_flag_override();
  app_.add_flag("-h,--help", g.help, "help (of the command it follows)")->disable_flag_override();
  app_.add_flag("--version", g.version, "the same as the command version")->disable_flag_override();

  // The command flags, left out of the help, so that they may come before the command too.
  const size_t globals = app_.get_options().size();
  add_output_flags(app_, g);
  add_list_flags(app_, g, C::Containers);  // a superset of the sandboxes' flags
  add_show_flags(app_, g);
  add_events_flags(app_, g);
  add_diff_flags(app_, g);
  add_top_flags(app_, g);
  auto options = app_.get_options();
  for (size_t i = globals; i < options.size(); ++i) options[i]->group(kCommandFlagsGroup);

  for (const auto& info : command_infos()) {
    CLI::App* sub = app_.add_subcommand(info.name, info.about);
    if (*info.alias) sub->alias(info.alias);
    sub->fallthrough();  // global flags after the command, and command flags it lacks (refused later)
    add_command_flags(*sub, g, info.command);
    if (*info.args) sub->add_option(info.command == C::Help ? "CMD" : "ID", g.args);
  }
}

std::vector<const CLI::Option*> CommandLine::command_flags_taken_by_app() const {
  std::vector<const CLI::Option*> out;
  for (const auto* opt : app_.get_options())
    if (opt->get_group() == kCommandFlagsGroup && opt->count() > 0) out.push_back(opt);
  return out;
}

}  // namespace lxe::ctl
