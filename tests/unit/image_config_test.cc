// What an OCI image says about its process, and CRI's rules for merging that with a container's
// config: command/args against entrypoint/cmd, env by key, working dir, and the user, by name
// from the image's /etc/passwd and /etc/group.
#include <catch2/catch.hpp>

#include <csignal>

#include "model/image_config.h"

namespace v1 = runtime::v1;
using lxe::model::ContainerProcess;
using lxe::model::ImageDefaults;

namespace {

ImageDefaults web_image() {
  ImageDefaults d;
  d.config = lxe::model::parse_oci_image_config(nlohmann::json::parse(R"({
    "architecture": "amd64", "os": "linux",
    "config": {
      "Entrypoint": ["/bin/busybox", "httpd", "-f"], "Cmd": ["-p", "8080"],
      "Env": ["PATH=/usr/bin:/bin", "GREETING=hello"], "WorkingDir": "/srv/www",
      "User": "www-data", "StopSignal": "SIGQUIT",
      "ExposedPorts": {"8080/tcp": {}}, "Labels": {"org.lxe.test": "web"}
    }})"));
  d.users = lxe::model::parse_image_users("root:x:0:0:root:/root:/bin/sh\n"
                                          "www-data:x:33:33:www-data:/var/www:/bin/false\n"
                                          "# a comment\nbroken line\nbad:x:notanumber:1::/:/bin/sh\n"
                                          "default-user:x:1000:1000::/home:/bin/sh\n",
                                          "root:x:0:\nwww-data:x:33:\ngroup-defined-in-image:x:50000:default-user\n");
  return d;
}

ContainerProcess process(const v1::ContainerConfig& config, const ImageDefaults* image) {
  auto result = lxe::model::container_process(config, image);
  if (const auto* why = std::get_if<std::string>(&result)) FAIL("refused: " << *why);
  return std::get<ContainerProcess>(result);
}

std::string refusal(const v1::ContainerConfig& config, const ImageDefaults* image) {
  auto result = lxe::model::container_process(config, image);
  if (std::holds_alternative<ContainerProcess>(result)) FAIL("accepted");
  return std::get<std::string>(result);
}

}  // namespace

TEST_CASE("image config: the OCI config's fields are read", "[image-config]") {
  const auto d = web_image();
  CHECK(d.config.entrypoint == std::vector<std::string>{"/bin/busybox", "httpd", "-f"});
  CHECK(d.config.cmd == std::vector<std::string>{"-p", "8080"});
  CHECK(d.config.env == std::vector<std::string>{"PATH=/usr/bin:/bin", "GREETING=hello"});
  CHECK(d.config.working_dir == "/srv/www");
  CHECK(d.config.user == "www-data");
  CHECK(d.config.stop_signal == "SIGQUIT");
  CHECK(d.config.exposed_ports == std::vector<std::string>{"8080/tcp"});
  CHECK(d.config.labels.at("org.lxe.test") == "web");
  CHECK(d.users.users.size() == 3);  // malformed and commented lines skipped
  CHECK(d.users.users.at("www-data").uid == 33);
  CHECK(d.users.groups.at("group-defined-in-image") == 50000);

  // The stored form reads back the same.
  const auto back = lxe::model::image_defaults_from_json(lxe::model::to_json(d));
  CHECK(back.config.entrypoint == d.config.entrypoint);
  CHECK(back.config.labels == d.config.labels);
  CHECK(back.users.users.at("default-user").gid == 1000);
  CHECK(back.users.groups == d.users.groups);

  SECTION("a config without a config object, or fields of the wrong type, gives empty fields") {
    const auto empty = lxe::model::parse_oci_image_config(nlohmann::json::parse(R"({"config": {"Cmd": "sh", "Env": [1]}})"));
    CHECK(empty.cmd.empty());
    CHECK(empty.env.empty());
    CHECK_THROWS(lxe::model::parse_oci_image_config(nlohmann::json::array()));
  }
}

TEST_CASE("image config: CRI's uid and username of an image", "[image-config]") {
  CHECK(lxe::model::cri_image_user("1002").uid == 1002);
  CHECK(lxe::model::cri_image_user("1002").username.empty());
  CHECK(lxe::model::cri_image_user("1003:1004").uid == 1003);
  CHECK(lxe::model::cri_image_user("www-data").username == "www-data");
  CHECK_FALSE(lxe::model::cri_image_user("www-data:1004").uid.has_value());
  CHECK(lxe::model::cri_image_user("www-data:1004").username == "www-data");
  CHECK_FALSE(lxe::model::cri_image_user("").uid.has_value());
  CHECK(lxe::model::cri_image_user("").username.empty());
}

TEST_CASE("image config: command and args against entrypoint and cmd", "[image-config]") {
  const auto image = web_image();
  v1::ContainerConfig config;
  SECTION("neither: entrypoint + cmd") {
    CHECK(process(config, &image).args == std::vector<std::string>{"/bin/busybox", "httpd", "-f", "-p", "8080"});
  }
  SECTION("args only: entrypoint + args") {
    config.add_args("-p");
    config.add_args("9090");
    CHECK(process(config, &image).args == std::vector<std::string>{"/bin/busybox", "httpd", "-f", "-p", "9090"});
  }
  SECTION("command only: the command alone (cmd is dropped too)") {
    config.add_command("sleep");
    CHECK(process(config, &image).args == std::vector<std::string>{"sleep"});
  }
  SECTION("command and args") {
    config.add_command("sleep");
    config.add_args("10");
    CHECK(process(config, &image).args == std::vector<std::string>{"sleep", "10"});
  }
  SECTION("an image with neither entrypoint nor cmd and a container without a command is refused") {
    ImageDefaults bare;
    CHECK(refusal(config, &bare).find("neither the container nor its image gives a command") != std::string::npos);
  }
  SECTION("an LXD image (no defaults) without a command runs its init: no args, no refusal") {
    CHECK(process(config, nullptr).args.empty());
  }
}

TEST_CASE("image config: env merged by key, working dir", "[image-config]") {
  const auto image = web_image();
  v1::ContainerConfig config;
  auto* kv = config.add_envs();
  kv->set_key("GREETING");
  kv->set_value("from-pod");
  kv = config.add_envs();
  kv->set_key("EXTRA");
  kv->set_value("1");
  const auto p = process(config, &image);
  CHECK(p.env == std::vector<std::string>{"PATH=/usr/bin:/bin", "GREETING=from-pod", "EXTRA=1"});
  CHECK(p.cwd == "/srv/www");
  config.set_working_dir("/tmp");
  CHECK(process(config, &image).cwd == "/tmp");
  CHECK(process(config, nullptr).cwd == "/tmp");
  CHECK(process(v1::ContainerConfig(), nullptr).cwd.empty());
}

TEST_CASE("image config: the user", "[image-config]") {
  auto image = web_image();
  v1::ContainerConfig config;
  auto* sc = config.mutable_linux()->mutable_security_context();
  SECTION("the image's user by name") {
    const auto p = process(config, &image);
    CHECK(p.uid == 33);
    CHECK(p.gid == 33);
  }
  SECTION("a numeric image user takes its passwd entry's group, or 0") {
    image.config.user = "1000";
    CHECK(process(config, &image).gid == 1000);
    image.config.user = "1002";
    CHECK(process(config, &image).uid == 1002);
    CHECK(process(config, &image).gid == 0);
  }
  SECTION("user:group by number and by name") {
    image.config.user = "1003:1004";
    CHECK(process(config, &image).uid == 1003);
    CHECK(process(config, &image).gid == 1004);
    image.config.user = "default-user:group-defined-in-image";
    CHECK(process(config, &image).uid == 1000);
    CHECK(process(config, &image).gid == 50000);
  }
  SECTION("names the image does not know are refused") {
    image.config.user = "nobody-here";
    CHECK(refusal(config, &image).find("'nobody-here' is not in its /etc/passwd") != std::string::npos);
    image.config.user = "www-data:no-group";
    CHECK(refusal(config, &image).find("'no-group' is not in its /etc/group") != std::string::npos);
  }
  SECTION("run_as_user wins over the image's user") {
    sc->mutable_run_as_user()->set_value(1000);
    CHECK(process(config, &image).uid == 1000);
    CHECK(process(config, &image).gid == 1000);
  }
  SECTION("run_as_username resolves in the image") {
    sc->set_run_as_username("default-user");
    CHECK(process(config, &image).uid == 1000);
    sc->set_run_as_username("ghost");
    CHECK(refusal(config, &image).find("run_as_username 'ghost'") != std::string::npos);
    CHECK(refusal(config, nullptr).find("only for OCI images") != std::string::npos);
  }
  SECTION("run_as_group overrides the group, but only with a user") {
    sc->mutable_run_as_group()->set_value(7);
    CHECK(refusal(config, &image).find("run_as_group is set without run_as_user") != std::string::npos);
    CHECK(refusal(config, nullptr).find("run_as_group is set without run_as_user") != std::string::npos);
    sc->set_run_as_username("www-data");
    CHECK(process(config, &image).uid == 33);
    CHECK(process(config, &image).gid == 7);
    sc->clear_run_as_username();
    sc->mutable_run_as_user()->set_value(1000);
    CHECK(process(config, nullptr).gid == 7);
  }
  SECTION("an LXD image: only what the security context says") {
    CHECK_FALSE(process(config, nullptr).uid.has_value());
    sc->mutable_run_as_user()->set_value(5);
    CHECK(process(config, nullptr).uid == 5);
    CHECK_FALSE(process(config, nullptr).gid.has_value());
  }
}

TEST_CASE("image config: the stop signal", "[image-config]") {
  CHECK(lxe::model::signal_number("SIGQUIT") == SIGQUIT);
  CHECK(lxe::model::signal_number("quit") == SIGQUIT);
  CHECK(lxe::model::signal_number("15") == 15);
  CHECK(lxe::model::signal_number("SIGRTMIN+3") == SIGRTMIN + 3);
  CHECK_FALSE(lxe::model::signal_number("SIGNOPE"));
  CHECK_FALSE(lxe::model::signal_number("0"));
  auto image = web_image();
  CHECK(process(v1::ContainerConfig(), &image).stop_signal == SIGQUIT);
  image.config.stop_signal = "SIGBOGUS";
  CHECK(refusal(v1::ContainerConfig(), &image).find("'SIGBOGUS'") != std::string::npos);
  CHECK_FALSE(process(v1::ContainerConfig(), nullptr).stop_signal.has_value());
}

TEST_CASE("image config: the container's stop_signal wins over its image's, for every value of CRI's enum",
          "[image-config]") {
  auto image = web_image();  // StopSignal SIGQUIT
  v1::ContainerConfig config;
  config.add_command("/bin/sh");
  config.set_stop_signal(v1::SIGNAL_SIGUSR1);
  CHECK(process(config, &image).stop_signal == SIGUSR1);
  CHECK(process(config, nullptr).stop_signal == SIGUSR1);
  config.set_stop_signal(v1::SIGNAL_RUNTIME_DEFAULT);
  CHECK(process(config, &image).stop_signal == SIGQUIT);
  config.set_stop_signal(v1::SIGNAL_SIGRTMINPLUS3);
  CHECK(process(config, nullptr).stop_signal == SIGRTMIN + 3);
  config.set_stop_signal(v1::SIGNAL_SIGRTMAXMINUS2);
  CHECK(process(config, nullptr).stop_signal == SIGRTMAX - 2);
  config.set_stop_signal(v1::SIGNAL_SIGCLD);
  CHECK(process(config, nullptr).stop_signal == SIGCHLD);
  // Every named value maps to a signal: none is refused, none silently becomes SIGTERM.
  const auto* values = v1::Signal_descriptor();
  for (int i = 0; i < values->value_count(); ++i) {
    const auto value = static_cast<v1::Signal>(values->value(i)->number());
    if (value == v1::SIGNAL_RUNTIME_DEFAULT) continue;
    config.set_stop_signal(value);
    INFO(values->value(i)->name());
    CHECK(process(config, nullptr).stop_signal.has_value());
  }
  v1::ContainerConfig system;  // an LXD image's own init: no lxe-init to send the signal
  system.set_stop_signal(v1::SIGNAL_SIGQUIT);
  CHECK(refusal(system, nullptr).find("runs its image's own init") != std::string::npos);
  config.set_stop_signal(static_cast<v1::Signal>(999));  // a value of a newer CRI
  CHECK(refusal(config, nullptr).find("stop_signal 999 is not a value of CRI's Signal enum") != std::string::npos);
}

TEST_CASE("image config: hostile strings in an image are refused, not passed on", "[image-config]") {
  const v1::ContainerConfig config;
  auto image = web_image();
  image.config.cmd.push_back(std::string("a\0b", 3));
  CHECK(refusal(config, &image).find("NUL") != std::string::npos);
  image = web_image();
  image.config.env.push_back("BAD\nKEY=1");
  CHECK(refusal(config, &image).find("control character") != std::string::npos);
  image = web_image();
  image.config.env.push_back("NOVALUE");
  CHECK(refusal(config, &image).find("not NAME=VALUE") != std::string::npos);
  image = web_image();
  image.config.env.push_back("=1");
  CHECK(refusal(config, &image).find("not NAME=VALUE") != std::string::npos);
  image = web_image();
  image.config.working_dir = std::string("/a\0", 3);
  CHECK(refusal(config, &image).find("NUL") != std::string::npos);
}
