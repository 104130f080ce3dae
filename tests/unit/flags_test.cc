#include <catch2/catch.hpp>

#include "daemon/flags.h"
#include "daemon/lxd_remote_config.h"

using lxe::daemon::FlagError;
using lxe::daemon::Options;
using lxe::daemon::parse_flags;

namespace {

Options ok(const std::vector<std::string>& args) {
  auto parsed = parse_flags(args);
  if (auto* e = std::get_if<FlagError>(&parsed)) FAIL("unexpected flag error: " << e->message);
  return std::get<Options>(parsed);
}

std::string error(const std::vector<std::string>& args) {
  auto parsed = parse_flags(args);
  REQUIRE(std::holds_alternative<FlagError>(parsed));
  return std::get<FlagError>(parsed).message;
}

}  // namespace

TEST_CASE("flags: defaults follow LXE's", "[flags]") {
  const Options o = ok({});
  CHECK(o.socket == "/run/lxe.sock");
  CHECK(o.db == "/var/lib/lxe/lxe.db");
  CHECK(o.lxd_socket.empty());
  CHECK(o.log_level == "info");
  CHECK_FALSE(o.help);
  CHECK_FALSE(o.version);
}

TEST_CASE("flags: values as separate words or after =", "[flags]") {
  const Options o = ok({"--socket", "/tmp/a.sock", "--db=/tmp/x.db", "--lxd-socket=/l.sock", "--log-level",
                        "warn", "--lxd-remote-config", "/etc/lxc.yml"});
  CHECK(o.socket == "/tmp/a.sock");
  CHECK(o.db == "/tmp/x.db");
  CHECK(o.lxd_socket == "/l.sock");
  CHECK(o.log_level == "warn");
  CHECK(o.lxd_remote_config == "/etc/lxc.yml");
  CHECK(ok({"--debug"}).log_level == "debug");
  CHECK(ok({"--debug", "--verbose"}).log_level == "info");
  CHECK(ok({"--help"}).help);
  CHECK(ok({"--version"}).version);
}

TEST_CASE("flags: mistakes are named in one line", "[flags]") {
  CHECK_THAT(error({"--sockt", "x"}), Catch::Contains("unknown flag --sockt"));
  CHECK_THAT(error({"--socket"}), Catch::Contains("--socket needs a value"));
  CHECK_THAT(error({"--db="}), Catch::Contains("non-empty"));
  CHECK_THAT(error({"--log-level", "loud"}), Catch::Contains("trace, debug, info"));
  CHECK_THAT(error({"--help=yes"}), Catch::Contains("takes no value"));
  CHECK_THAT(error({"serve"}), Catch::Contains("unexpected argument 'serve'"));
}

TEST_CASE("flags: the last of --log-level, --verbose and --debug wins", "[flags]") {
  CHECK(ok({"--debug", "--log-level", "warn"}).log_level == "warn");
  CHECK(ok({"--log-level", "warn", "--debug"}).log_level == "debug");
  CHECK(ok({"--log-level=error", "--verbose"}).log_level == "info");
  CHECK(ok({"--log-level", "trace", "--log-level", "off"}).log_level == "off");
}

TEST_CASE("flags: --flag= is an empty value, never the next word", "[flags]") {
  CHECK_THAT(error({"--db=", "--debug"}), Catch::Contains("--db") && Catch::Contains("non-empty"));
  CHECK_THAT(error({"--socket", ""}), Catch::Contains("non-empty"));
  CHECK(ok({"--db=/x=y.db"}).db == "/x=y.db");
}

TEST_CASE("flags: the LXD name prefix is checked", "[flags]") {
  CHECK(ok({}).lxd_name_prefix == "lxe");
  CHECK(ok({"--lxd-name-prefix", "node-1"}).lxd_name_prefix == "node-1");
  CHECK_THAT(error({"--lxd-name-prefix", "Bad"}), Catch::Contains("[a-z0-9-]"));
  CHECK_THAT(error({"--lxd-name-prefix=x-"}), Catch::Contains("not ending with '-'"));
}

TEST_CASE("flags: the help lists every flag with its default", "[flags]") {
  const std::string help = lxe::daemon::usage();
  CHECK_THAT(help, Catch::StartsWith("Usage: lxe [flags]\n"));
  for (const char* line : {"  --socket PATH ", "  --lxd-socket PATH ", "  --lxd-remote-config PATH ", "  --db PATH ",
                           "  --lxd-name-prefix PREFIX ", "  --log-level LEVEL ", "  --verbose ", "  --debug ",
                           "  -h, --help ", "  --version "})
    CHECK_THAT(help, Catch::Contains(std::string("\n") + line));
  for (const char* fallback : {"(default /run/lxe.sock)", "(default /var/lib/lxe/lxe.db)", "(default lxe)",
                               "(default info)"})
    CHECK_THAT(help, Catch::Contains(fallback));
  CHECK(ok({"-h"}).help);
}

TEST_CASE("lxd remote config: the default remote's unix socket", "[flags]") {
  using lxe::daemon::lxd_socket_from_remote_config_text;
  using lxe::daemon::RemoteConfigError;
  const std::string config =
      "default-remote: mine\n"
      "remotes:\n"
      "  images:\n"
      "    addr: https://images.example\n"
      "    protocol: simplestreams\n"
      "  local:\n"
      "    addr: unix://\n"
      "  mine:\n"
      "    addr: unix:///var/lib/lxd/unix.socket\n"
      "    public: false\n"
      "aliases: {}\n";
  auto got = lxd_socket_from_remote_config_text(config, "c.yml");
  REQUIRE(std::holds_alternative<std::string>(got));
  CHECK(std::get<std::string>(got) == "/var/lib/lxd/unix.socket");

  // No default-remote: "local", whose unix:// means LXD's default socket.
  got = lxd_socket_from_remote_config_text("remotes:\n  local:\n    addr: unix://\n", "c.yml");
  REQUIRE(std::holds_alternative<std::string>(got));
  CHECK(std::get<std::string>(got).empty());

  got = lxd_socket_from_remote_config_text("default-remote: images\n" + config.substr(config.find('\n') + 1),
                                           "c.yml");
  REQUIRE(std::holds_alternative<RemoteConfigError>(got));
  CHECK_THAT(std::get<RemoteConfigError>(got).message, Catch::Contains("only talks to LXD over its unix socket"));

  got = lxd_socket_from_remote_config_text("default-remote: gone\nremotes:\n  local:\n    addr: unix://\n", "c.yml");
  REQUIRE(std::holds_alternative<RemoteConfigError>(got));
  CHECK_THAT(std::get<RemoteConfigError>(got).message, Catch::Contains("'gone' is not among its remotes"));

  // YAML that lxc would also read: flow style, quoted values, comments.
  got = lxd_socket_from_remote_config_text(
      "# mine\ndefault-remote: 'l'\nremotes: {l: {addr: \"unix:///run/lxd.sock\"}}\n", "c.yml");
  REQUIRE(std::holds_alternative<std::string>(got));
  CHECK(std::get<std::string>(got) == "/run/lxd.sock");

  // Broken or misshapen files are named, never a crash or a silent default.
  got = lxd_socket_from_remote_config_text("remotes: [\n", "c.yml");
  REQUIRE(std::holds_alternative<RemoteConfigError>(got));
  CHECK_THAT(std::get<RemoteConfigError>(got).message, Catch::StartsWith("c.yml: not valid YAML"));
  got = lxd_socket_from_remote_config_text("- a\n- b\n", "c.yml");
  REQUIRE(std::holds_alternative<RemoteConfigError>(got));
  CHECK_THAT(std::get<RemoteConfigError>(got).message, Catch::Contains("expected a YAML mapping"));
  got = lxd_socket_from_remote_config_text("remotes:\n  local:\n    addr: [1, 2]\n", "c.yml");
  REQUIRE(std::holds_alternative<RemoteConfigError>(got));
  CHECK_THAT(std::get<RemoteConfigError>(got).message, Catch::Contains("unexpected shape"));
}

TEST_CASE("flags: the streaming server's address, port and TLS files", "[flags]") {
  const auto defaults = std::get<Options>(lxe::daemon::parse_flags({}));
  CHECK(defaults.streaming_bindaddr == "127.0.0.1");
  CHECK(defaults.streaming_port == 0);
  CHECK(defaults.streaming_tls_cert.empty());
  const auto set = std::get<Options>(lxe::daemon::parse_flags(
      {"--streaming-bindaddr", "::1", "--streaming-port", "10010", "--streaming-tls-cert", "/etc/lxe/c.pem",
       "--streaming-tls-key", "/etc/lxe/k.pem"}));
  CHECK(set.streaming_bindaddr == "::1");
  CHECK(set.streaming_port == 10010);
  CHECK(set.streaming_tls_cert == "/etc/lxe/c.pem");
  CHECK(set.streaming_tls_key == "/etc/lxe/k.pem");
  CHECK(std::get<Options>(lxe::daemon::parse_flags({"--streaming-bindaddr", "[::]"})).streaming_bindaddr == "[::]");
  CHECK_THAT(error({"--streaming-bindaddr", "localhost"}), Catch::Contains("not an IP address"));
  CHECK_THAT(error({"--streaming-bindaddr", "10.0.0.1:80"}), Catch::Contains("not an IP address"));
  CHECK_THAT(error({"--streaming-port", "65536"}), Catch::Contains("--streaming-port"));
  CHECK_THAT(error({"--streaming-port", "-1"}), Catch::Contains("--streaming-port"));
  CHECK_THAT(error({"--streaming-tls-cert", "/etc/lxe/c.pem"}), Catch::Contains("give both or neither"));
  CHECK_THAT(error({"--streaming-tls-key", "k.pem", "--streaming-tls-cert", "/c"}),
             Catch::Contains("not an absolute path"));
}

TEST_CASE("flags: /metrics is off unless --metrics-port is given", "[flags]") {
  const Options defaults = ok({});
  CHECK(defaults.metrics_port == -1);
  CHECK(defaults.metrics_bindaddr == "127.0.0.1");
  const Options on = ok({"--metrics-port", "9101", "--metrics-bindaddr", "0.0.0.0"});
  CHECK(on.metrics_port == 9101);
  CHECK(on.metrics_bindaddr == "0.0.0.0");
  CHECK(ok({"--metrics-port=0"}).metrics_port == 0);
  CHECK_THAT(error({"--metrics-port", "70000"}), Catch::Contains("--metrics-port"));
  CHECK_THAT(error({"--metrics-port", "-1"}), Catch::Contains("--metrics-port"));
  CHECK_THAT(error({"--metrics-bindaddr", "localhost"}), Catch::Contains("--metrics-bindaddr"));
}

TEST_CASE("flags: the writable layer's refresh interval and entry bound", "[flags]") {
  const Options defaults = ok({});
  CHECK(defaults.writable_layer_refresh_s == 60);
  CHECK(defaults.writable_layer_max_entries == 1000000);
  const Options set = ok({"--writable-layer-refresh", "5", "--writable-layer-max-entries=20000000"});
  CHECK(set.writable_layer_refresh_s == 5);
  CHECK(set.writable_layer_max_entries == 20000000);
  CHECK_THAT(error({"--writable-layer-refresh", "0"}), Catch::Contains("--writable-layer-refresh"));
  CHECK_THAT(error({"--writable-layer-max-entries", "0"}), Catch::Contains("--writable-layer-max-entries"));
  CHECK_THAT(error({"--writable-layer-max-entries", "many"}), Catch::Contains("--writable-layer-max-entries"));
  const std::string help = lxe::daemon::usage();
  CHECK_THAT(help, Catch::Contains("\n  --writable-layer-refresh SECONDS "));
  CHECK_THAT(help, Catch::Contains("\n  --writable-layer-max-entries N "));
}

TEST_CASE("flags: --ready-instances, a count per image from 0 (off) to 16", "[flags][ready]") {
  CHECK(ok({}).ready_instances == 1);
  CHECK(ok({"--ready-instances", "0"}).ready_instances == 0);
  CHECK(ok({"--ready-instances=16"}).ready_instances == 16);
  CHECK_THAT(error({"--ready-instances", "17"}), Catch::Contains("--ready-instances"));
  CHECK_THAT(error({"--ready-instances", "-1"}), Catch::Contains("--ready-instances"));
  CHECK_THAT(error({"--ready-instances", "two"}), Catch::Contains("--ready-instances"));
  CHECK_THAT(error({"--ready-instances="}), Catch::Contains("--ready-instances"));
  CHECK_THAT(lxe::daemon::usage(), Catch::Contains("\n  --ready-instances N ") && Catch::Contains("(default 1)"));
}
