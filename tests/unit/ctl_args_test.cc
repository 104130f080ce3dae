// lxe-ctl's command line: every command, its flags, and each way a command line can be wrong.
#include <catch2/catch.hpp>

#include "common/defaults.h"
#include "ctl/args.h"

using namespace lxe::ctl;

namespace {

constexpr int64_t kNow = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z

Invocation ok(const std::vector<std::string>& args) {
  const auto parsed = parse_args(args, kNow);
  if (const auto* e = std::get_if<UsageError>(&parsed)) FAIL("unexpected usage error: " << e->message);
  return std::get<Invocation>(parsed);
}

UsageError bad(const std::vector<std::string>& args) {
  const auto parsed = parse_args(args, kNow);
  if (std::holds_alternative<Invocation>(parsed)) FAIL("accepted a bad command line");
  return std::get<UsageError>(parsed);
}

}  // namespace

TEST_CASE("ctl args: commands and their aliases", "[ctl]") {
  CHECK(ok({"sandboxes"}).command == Command::Sandboxes);
  CHECK(ok({"pods"}).command == Command::Sandboxes);
  CHECK(ok({"containers"}).command == Command::Containers);
  CHECK(ok({"ps"}).command == Command::Containers);
  CHECK(ok({"show", "abc"}).command == Command::Show);
  CHECK(ok({"inspect", "abc"}).command == Command::Show);
  CHECK(ok({"events"}).command == Command::Events);
  CHECK(ok({"diff"}).command == Command::Diff);
  CHECK(ok({"check"}).command == Command::Diff);
  CHECK(ok({"version"}).command == Command::Version);
  CHECK(ok({"--version"}).command == Command::Version);
  CHECK(ok({"top"}).command == Command::Top);
}

TEST_CASE("ctl args: defaults are lxe's", "[ctl]") {
  const auto inv = ok({"containers"});
  CHECK(inv.global.db_path == lxe::kDefaultDbPath);
  CHECK(inv.global.lxd_socket.empty());
  CHECK(inv.global.color == ColorMode::Auto);
  CHECK(inv.output == OutputFormat::Table);
  CHECK(inv.diff.settle == std::chrono::milliseconds(2000));
  CHECK(inv.events.poll_interval == std::chrono::milliseconds(500));
}

TEST_CASE("ctl args: global flags go before or after the command, with = or a separate value", "[ctl]") {
  auto a = ok({"--db", "/x/lxe.db", "containers"});
  CHECK(a.global.db_path == "/x/lxe.db");
  auto b = ok({"containers", "--db=/y/lxe.db", "--lxd-socket", "/run/lxd.sock", "--no-color"});
  CHECK(b.global.db_path == "/y/lxe.db");
  CHECK(b.global.lxd_socket == "/run/lxd.sock");
  CHECK(b.global.color == ColorMode::Never);
  CHECK(ok({"--color", "always", "sandboxes"}).global.color == ColorMode::Always);
}

TEST_CASE("ctl args: a command's flags may come before the command too", "[ctl]") {
  CHECK(ok({"--json", "containers"}).output == OutputFormat::Json);
  const auto c = ok({"-l", "a=1", "--state", "running", "containers", "-l", "b=2"});
  CHECK(c.filters.state == "CONTAINER_RUNNING");
  CHECK(c.filters.labels.size() == 2);
  CHECK(ok({"-f", "events", "x"}).events.follow);
  // ... and still only to a command that has them.
  CHECK(bad({"--name", "x", "sandboxes"}).message == "flag --name does not apply to 'sandboxes'");
  CHECK(bad({"--lxd", "events"}).message == "flag --lxd does not apply to 'events'");
}

TEST_CASE("ctl args: after the command, words are its arguments, not other commands", "[ctl]") {
  CHECK(ok({"show", "ps"}).target == "ps");
  CHECK(ok({"events", "diff"}).events.target == "diff");
  CHECK(bad({"ps", "show"}).message == "unexpected argument 'show' for 'containers'");
  // A flag takes one value; a second word is an argument.
  CHECK(bad({"containers", "-l", "a=1", "b=2"}).message == "unexpected argument 'b=2' for 'containers'");
}

TEST_CASE("ctl args: --flag= is an empty value, never the next word", "[ctl]") {
  CHECK(bad({"--db=", "containers"}).message == "--db needs a path");
  CHECK(bad({"containers", "--pod="}).message == "--pod needs a pod name or ID prefix");
}

TEST_CASE("ctl args: the last of a repeated flag counts", "[ctl]") {
  CHECK(ok({"containers", "-o", "yaml", "-o", "json"}).output == OutputFormat::Json);
  CHECK(ok({"--db", "/a", "containers", "--db", "/b"}).global.db_path == "/b");
}

TEST_CASE("ctl args: output formats", "[ctl]") {
  CHECK(ok({"containers", "--json"}).output == OutputFormat::Json);
  CHECK(ok({"containers", "-o", "json"}).output == OutputFormat::Json);
  CHECK(ok({"containers", "--output=yaml"}).output == OutputFormat::Yaml);
  CHECK(ok({"containers", "-o", "TABLE"}).output == OutputFormat::Table);
  CHECK(ok({"show", "x", "--json"}).output == OutputFormat::Json);
  CHECK(ok({"events", "-o", "yaml"}).output == OutputFormat::Yaml);
  CHECK(ok({"diff", "--json"}).output == OutputFormat::Json);
  CHECK(bad({"containers", "-o", "xml"}).message.find("json, yaml or table") != std::string::npos);
}

TEST_CASE("ctl args: list filters", "[ctl]") {
  const auto c = ok({"containers", "--state", "running", "--pod", "web", "-n", "prod", "--name", "app", "-l",
                     "tier=front", "--label", "app=x=y"});
  CHECK(c.filters.state == "CONTAINER_RUNNING");
  CHECK(c.filters.pod == "web");
  CHECK(c.filters.namespace_ == "prod");
  CHECK(c.filters.name == "app");
  REQUIRE(c.filters.labels.size() == 2);
  CHECK(c.filters.labels[0] == std::pair<std::string, std::string>{"tier", "front"});
  CHECK(c.filters.labels[1] == std::pair<std::string, std::string>{"app", "x=y"});

  CHECK(ok({"containers", "--state", "CONTAINER_EXITED"}).filters.state == "CONTAINER_EXITED");
  CHECK(ok({"containers", "--state", "Created"}).filters.state == "CONTAINER_CREATED");
  CHECK(ok({"sandboxes", "--state", "notready"}).filters.state == "SANDBOX_NOTREADY");
  CHECK(ok({"sandboxes", "--state", "SANDBOX_READY"}).filters.state == "SANDBOX_READY");
  CHECK(ok({"sandboxes", "--state", "not_ready"}).filters.state == "SANDBOX_NOTREADY");
}

TEST_CASE("ctl args: show and events take their ID", "[ctl]") {
  const auto s = ok({"show", "4f2c", "--lxd"});
  CHECK(s.target == "4f2c");
  CHECK(s.show_lxd);
  const auto e = ok({"events", "-f", "--tail", "20", "4f2c", "--poll-interval", "100ms"});
  CHECK(e.events.follow);
  CHECK(e.events.tail == 20);
  CHECK(e.events.target == "4f2c");
  CHECK(e.events.poll_interval == std::chrono::milliseconds(100));
  CHECK(ok({"events"}).events.target.empty());
  // After --, an ID that starts with '-' is still an ID (IDs never do, but LXD names are checked).
  CHECK(ok({"show", "--", "-x"}).target == "-x");
}

TEST_CASE("ctl args: top takes an ID, the list filters and its own options", "[ctl]") {
  const auto d = ok({"top"});
  CHECK(d.top.interval == std::chrono::milliseconds(1000));
  CHECK(d.top.sort == TopSort::None);
  CHECK_FALSE(d.top.pods);
  CHECK(d.top.cgroup_root == "/sys/fs/cgroup");
  CHECK(d.top.target.empty());
  const auto t = ok({"top", "c3d4", "--interval", "250ms", "--sort", "CPU", "--pods", "--pod", "web", "-n", "prod",
                     "--state", "running", "--cgroup-root", "/tmp/cg", "--json"});
  CHECK(t.top.target == "c3d4");
  CHECK(t.top.interval == std::chrono::milliseconds(250));
  CHECK(t.top.sort == TopSort::Cpu);
  CHECK(t.top.pods);
  CHECK(t.top.cgroup_root == "/tmp/cg");
  CHECK(t.filters.pod == "web");
  CHECK(t.filters.namespace_ == "prod");
  CHECK(t.filters.state == "CONTAINER_RUNNING");
  CHECK(t.output == OutputFormat::Json);
  CHECK(ok({"--sort", "memory", "top"}).top.sort == TopSort::Memory);
  CHECK(ok({"top", "--interval", "1m"}).top.interval == std::chrono::milliseconds(60000));

  CHECK(bad({"top", "--sort", "name"}).message == "--sort takes cpu or memory, not 'name'");
  CHECK(bad({"top", "--interval", "50ms"}).message.find("100ms to 60s") != std::string::npos);
  CHECK(bad({"top", "--interval", "2m"}).message.find("100ms to 60s") != std::string::npos);
  CHECK(bad({"top", "--interval", "soon"}).command == "top");
  CHECK(bad({"top", "a", "b"}).message == "top takes at most one ID");
  CHECK(bad({"top", "--cgroup-root="}).message == "--cgroup-root needs a path");
  CHECK(bad({"top", "--state", "ready"}).message.find("top takes created, running, exited or unknown") !=
        std::string::npos);
  CHECK(bad({"containers", "--pods"}).message == "flag --pods does not apply to 'containers'");
  CHECK(bad({"--sort", "cpu", "events"}).message == "flag --sort does not apply to 'events'");
}

TEST_CASE("ctl args: --since takes a duration back from now or an RFC 3339 time", "[ctl]") {
  CHECK(ok({"events", "--since", "10m"}).events.since_ns == kNow - 600'000'000'000);
  CHECK(ok({"events", "--since", "1h30m"}).events.since_ns == kNow - 5'400'000'000'000);
  CHECK(ok({"events", "--since", "2023-11-14T22:13:20Z"}).events.since_ns == kNow);
  CHECK(ok({"events", "--since", "2023-11-14T23:13:20.5+01:00"}).events.since_ns == kNow + 500'000'000);
  CHECK(bad({"events", "--since", "yesterday"}).message.find("--since takes") != std::string::npos);
}

TEST_CASE("ctl args: diff options", "[ctl]") {
  const auto d = ok({"diff", "--lxd-name-prefix", "lxe", "--settle", "0"});
  CHECK(d.diff.lxd_name_prefix == "lxe");
  CHECK(d.diff.settle == std::chrono::milliseconds(0));
  CHECK(ok({"diff", "--settle", "500ms"}).diff.settle == std::chrono::milliseconds(500));
  CHECK(bad({"diff", "--settle", "forever"}).command == "diff");
}

TEST_CASE("ctl args: --help anywhere gives the help of the command", "[ctl]") {
  CHECK(ok({"--help"}).command == Command::Help);
  CHECK(ok({"--help"}).help_topic.empty());
  CHECK(ok({"-h"}).command == Command::Help);
  auto a = ok({"containers", "--help"});
  CHECK(a.command == Command::Help);
  CHECK(a.help_topic == "containers");
  CHECK(ok({"ps", "-h"}).help_topic == "containers");
  CHECK(ok({"help", "check"}).help_topic == "diff");
  CHECK(ok({"help"}).help_topic.empty());
  // --help wins over flags that would be errors otherwise.
  CHECK(ok({"show", "--help"}).help_topic == "show");
}

TEST_CASE("ctl args: each usage error is one message naming the problem", "[ctl]") {
  CHECK(bad({}).message == "no command given");
  CHECK(bad({"contianers"}).message == "unknown command 'contianers'");
  CHECK(bad({"containers", "--bogus"}).message == "unknown flag '--bogus'");
  CHECK(bad({"containers", "--bogus"}).command == "containers");
  CHECK(bad({"containers", "--db"}).message == "flag --db needs a value");
  CHECK(bad({"containers", "--json=yes"}).message == "flag --json takes no value");
  CHECK(bad({"sandboxes", "--name", "x"}).message == "flag --name does not apply to 'sandboxes'");
  CHECK(bad({"version", "--state", "running"}).message == "flag --state does not apply to 'version'");
  CHECK(bad({"events", "--lxd"}).message == "flag --lxd does not apply to 'events'");
  CHECK(bad({"containers", "--state", "ready"}).message.find("created, running, exited or unknown") !=
        std::string::npos);
  CHECK(bad({"sandboxes", "--state", "running"}).message.find("ready or notready") != std::string::npos);
  CHECK(bad({"containers", "--label", "novalue"}).message.find("key=value") != std::string::npos);
  CHECK(bad({"containers", "--label", "=v"}).message.find("key=value") != std::string::npos);
  CHECK(bad({"show"}).message.find("exactly one ID") != std::string::npos);
  CHECK(bad({"show", "a", "b"}).message.find("exactly one ID") != std::string::npos);
  CHECK(bad({"show", ""}).message == "the ID is empty");
  CHECK(bad({"events", "a", "b"}).message.find("at most one ID") != std::string::npos);
  CHECK(bad({"containers", "extra"}).message == "unexpected argument 'extra' for 'containers'");
  CHECK(bad({"events", "--tail", "0"}).message.find("positive number") != std::string::npos);
  CHECK(bad({"events", "--poll-interval", "1ms"}).message.find("10ms to 60s") != std::string::npos);
  CHECK(bad({"--color", "sometimes", "containers"}).message.find("auto, always or never") != std::string::npos);
  CHECK(bad({"help", "nope"}).message == "unknown command 'nope'");
  CHECK(bad({"help", "nope"}).command.empty());  // the hint is the overview
  CHECK(bad({"containers", "--version"}).message == "flag --version does not apply to 'containers'");
  CHECK(bad({"help", "--json"}).message == "flag --json does not apply to 'help'");
  CHECK(bad({"--db", "", "containers"}).message == "--db needs a path");
}

TEST_CASE("ctl args: durations and RFC 3339 times", "[ctl]") {
  CHECK(parse_duration_ns("250ms") == 250'000'000);
  CHECK(parse_duration_ns("90s") == 90'000'000'000);
  CHECK(parse_duration_ns("2d") == 172'800'000'000'000);
  CHECK(parse_duration_ns("1h1m1s") == 3'661'000'000'000);
  CHECK_FALSE(parse_duration_ns(""));
  CHECK_FALSE(parse_duration_ns("10"));
  CHECK_FALSE(parse_duration_ns("m"));
  CHECK_FALSE(parse_duration_ns("5w"));
  CHECK_FALSE(parse_duration_ns("-5s"));

  CHECK(parse_rfc3339_ns("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_rfc3339_ns("1970-01-01T00:00:01.000000002Z") == 1'000'000'002);
  CHECK(parse_rfc3339_ns("1970-01-01 01:00:00+01:00") == 0);
  CHECK(parse_rfc3339_ns("1970-01-01T00:00:00-00:30") == 1'800'000'000'000);
  CHECK_FALSE(parse_rfc3339_ns("1970-01-01T00:00:00"));
  CHECK_FALSE(parse_rfc3339_ns("1970-13-01T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339_ns("1970-01-01T00:00:00Zjunk"));
  CHECK_FALSE(parse_rfc3339_ns("1970-01-01T00:00:00."));
}

TEST_CASE("ctl args: the help lists every command and every exit code", "[ctl]") {
  const std::string overview = help_text("");
  for (const char* word : {"sandboxes", "containers", "top", "show", "events", "diff", "version", "--db",
                           "--lxd-socket", lxe::kDefaultDbPath})
    CHECK(overview.find(word) != std::string::npos);
  for (const char* code : {"  0  ", "  1  ", "  2  ", "  3  ", "  4  ", "  5  ", "  6  "})
    CHECK(overview.find(code) != std::string::npos);
  CHECK(help_text("containers").find("--state") != std::string::npos);
  CHECK(help_text("events").find("--follow") != std::string::npos);
  CHECK(help_text("diff").find("--lxd-name-prefix") != std::string::npos);
  CHECK(help_text("show").find("--lxd") != std::string::npos);
  CHECK(help_text("version").find("schema") != std::string::npos);
  CHECK(help_text("top").find("--interval") != std::string::npos);
}

TEST_CASE("ctl args: each command's help lists every flag it takes, and the global flags", "[ctl]") {
  struct Flag {
    std::string in_help;              // the left column of its help line
    std::vector<std::string> use;     // a use of it that parse_args accepts
  };
  const std::vector<Flag> output = {{"--json", {"--json"}}, {"-o, --output FMT", {"-o", "yaml"}}};
  const std::vector<std::pair<std::string, std::vector<Flag>>> commands = {
      {"sandboxes",
       {{"--state STATE", {"--state", "ready"}},
        {"--pod POD", {"--pod", "web"}},
        {"-n, --namespace NS", {"-n", "default"}},
        {"-l, --label K=V", {"-l", "a=b"}}}},
      {"containers",
       {{"--state STATE", {"--state", "running"}},
        {"--pod POD", {"--pod", "web"}},
        {"-n, --namespace NS", {"--namespace", "default"}},
        {"--name NAME", {"--name", "app"}},
        {"-l, --label K=V", {"--label", "a=b"}}}},
      {"top",
       {{"--state STATE", {"--state", "running"}},
        {"--pod POD", {"--pod", "web"}},
        {"-n, --namespace NS", {"-n", "default"}},
        {"--name NAME", {"--name", "app"}},
        {"-l, --label K=V", {"-l", "a=b"}},
        {"--interval D", {"--interval", "2s"}},
        {"--sort BY", {"--sort", "memory"}},
        {"--pods", {"--pods"}},
        {"--cgroup-root PATH", {"--cgroup-root", "/sys/fs/cgroup"}}}},
      {"show", {{"--lxd", {"--lxd"}}}},
      {"events",
       {{"-f, --follow", {"-f"}}, {"--since WHEN", {"--since", "1h"}}, {"--tail N", {"--tail", "3"}},
        {"--poll-interval D", {"--poll-interval", "1s"}}}},
      {"diff", {{"--lxd-name-prefix P", {"--lxd-name-prefix", "lxe"}}, {"--settle D", {"--settle", "0"}}}},
      {"version", {}},
  };
  for (auto [command, flags] : commands) {
    INFO(command);
    const std::string help = help_text(command);
    CHECK_THAT(help, Catch::StartsWith("Usage: lxe-ctl " + command + " [flags]"));
    flags.insert(flags.end(), output.begin(), output.end());
    for (const auto& flag : flags) {
      CHECK_THAT(help, Catch::Contains("\n  " + flag.in_help + "  "));
      std::vector<std::string> args = {command};
      if (command == "show") args.push_back("4f2c");
      args.insert(args.end(), flag.use.begin(), flag.use.end());
      const auto parsed = parse_args(args, kNow);
      if (const auto* e = std::get_if<UsageError>(&parsed)) FAIL(flag.in_help << ": " << e->message);
    }
    for (const char* global : {"--db PATH", "--lxd-socket PATH", "--color WHEN", "--no-color", "-h, --help"})
      CHECK_THAT(help, Catch::Contains(std::string("\n  ") + global + "  "));
    CHECK(help.find("--version") == std::string::npos);  // refused after a command
  }
  CHECK_THAT(help_text(""), Catch::Contains("\n  --version  "));
  CHECK_THAT(help_text("show"), Catch::StartsWith("Usage: lxe-ctl show [flags] ID   (alias: inspect)"));
  CHECK_THAT(help_text("events"), Catch::StartsWith("Usage: lxe-ctl events [flags] [ID]"));
  CHECK_THAT(help_text("top"), Catch::StartsWith("Usage: lxe-ctl top [flags] [ID]"));
  CHECK(help_text("help") == help_text(""));
}
