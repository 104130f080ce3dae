// kubelet-shaped volumes (CRI ContainerConfig.mounts) on the real LXD: host root is container root
// inside a volume and the other way round, container paths through the image's symlinks
// (/var/run -> ../run), symlinked host paths, read-only mounts, and the staged mounts' life (made
// before a start, made again for a running container after lxe restarts, gone with the container).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "reconcile/idmapped_mount.h"
#include "support/cri_fixture.h"
#include "support/process.h"
#include "support/test_lxd.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;
namespace fs = std::filesystem;

namespace {

// The LXD instance of a container: its name ends with the first 12 digits of the CRI ID.
std::string instance_of(const CriFixture& fx, const std::string& container_id) {
  const std::string tail = "-" + container_id.substr(0, 12);
  for (const auto& name : fx.lxd_instances())
    if (name.size() > tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0) return name;
  return "";
}

cri::Mount* add_mount(cri::ContainerConfig& config, const std::string& host, const std::string& container,
                      bool readonly = false) {
  auto* m = config.add_mounts();
  m->set_host_path(host);
  m->set_container_path(container);
  m->set_readonly(readonly);
  return m;
}

// A folder of root's, mode `mode`, holding `files` (name -> content, each mode 0600).
std::string private_dir(const std::string& path, mode_t mode, const std::map<std::string, std::string>& files = {}) {
  fs::create_directories(path);
  REQUIRE(::chown(path.c_str(), 0, 0) == 0);
  REQUIRE(::chmod(path.c_str(), mode) == 0);
  for (const auto& [name, content] : files) {
    lxe::test::write_file(path + "/" + name, content);
    REQUIRE(::chmod((path + "/" + name).c_str(), 0600) == 0);
  }
  return path;
}

struct stat stat_of(const std::string& path) {
  struct stat st {};
  INFO(path);
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

// Runs `script` with sh in the container; REQUIREs the call went through.
cri::ExecSyncResponse sh(CriFixture& fx, const std::string& container_id, const std::string& script) {
  const auto r = fx.exec(container_id, {"sh", "-c", script});
  INFO(script << ": " << describe(r.status));
  REQUIRE(r.ok());
  return r.value;
}

std::string volume_dir(const CriFixture& fx, const std::string& container_id) {
  return fx.dir().path() + "/volumes/" + container_id;
}

lxe::test::CommandResult lxc(const std::vector<std::string>& args) { return lxe::test::lxc_command(args); }

nlohmann::json verbose_status(CriFixture& fx) {
  auto ctx = lxe::test::context_with_deadline();
  cri::StatusRequest request;
  request.set_verbose(true);
  cri::StatusResponse response;
  REQUIRE(fx.runtime().Status(ctx.get(), request, &response).ok());
  REQUIRE(response.info().count("lxe") == 1);
  return nlohmann::json::parse(response.info().at("lxe"));
}

}  // namespace

TEST_CASE("volumes: a 0700 folder of host root is container root's inside, and what container root writes is "
          "host root's",
          "[lifecycle][volumes][lxd]") {
  CriFixture fx("volown");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string host = private_dir(fx.dir().file("private"), 0700, {{"secret", "s3cret\n"}});

  auto config = fx.container_config("c", {"sleep", "3600"});
  add_mount(config, host, "/data");
  const std::string id = fx.must_run_container(pod_id, config, pod);

  // The host decided for idmapped staging, and says so.
  const auto status = verbose_status(fx);
  INFO(status.dump());
  REQUIRE(status.at("volumes").at("idmappedMounts") == true);

  // Listable, readable and writable by container root; owned by it as the container sees it.
  {
    const auto r =
        sh(fx, id, "ls -lnd /data | awk '{print $1, $3, $4}'; ls -ln /data | awk 'NR>1 {print $1, $3, $4, $9}'");
    INFO(r.stdout() << r.stderr());
    CHECK(r.exit_code() == 0);
    CHECK(r.stdout() == "drwx------ 0 0\n-rw------- 0 0 secret\n");
  }
  CHECK(sh(fx, id, "cat /data/secret").stdout() == "s3cret\n");
  {
    const auto r = sh(fx, id, "echo from-container > /data/written && mkdir /data/sub && touch /data/sub/f");
    INFO(r.stderr());
    CHECK(r.exit_code() == 0);
  }
  // On the host: host root's, and the host folder keeps its owner and mode.
  for (const std::string path : {host + "/written", host + "/sub", host + "/sub/f"}) {
    const auto st = stat_of(path);
    INFO(path);
    CHECK(st.st_uid == 0);
    CHECK(st.st_gid == 0);
  }
  CHECK(lxe::test::read_file(host + "/written") == "from-container\n");
  {
    const auto st = stat_of(host);
    CHECK((st.st_mode & 07777) == 0700);
    CHECK(st.st_uid == 0);
    CHECK(st.st_gid == 0);
    const auto secret = stat_of(host + "/secret");
    CHECK((secret.st_mode & 07777) == 0600);
    CHECK(secret.st_uid == 0);
  }

  // LXD's device is the staged mount, a mount point in lxe's private folder.
  const std::string instance = instance_of(fx, id);
  REQUIRE_FALSE(instance.empty());
  const auto devices = fx.lxd().get_instance(instance).devices;
  REQUIRE(devices.count("mount0") == 1);
  CHECK(devices.at("mount0").at("source") == volume_dir(fx, id) + "/mount0");
  CHECK(devices.at("mount0").at("path") == "/data");
  CHECK(lxe::reconcile::is_mount_point(volume_dir(fx, id) + "/mount0"));
  CHECK((stat_of(fx.dir().path() + "/volumes").st_mode & 07777) == 0700);

  // Removed with the container: unmounted and gone; the host folder and its files stay.
  REQUIRE(fx.stop(id, 0).ok());
  {
    const auto removed = fx.remove(id);
    INFO(describe(removed));
    REQUIRE(removed.ok());
  }
  // (Once the instance is deleted, which follows RemoveContainer's answer.)
  CHECK(fx.settles([&] { return !fs::exists(volume_dir(fx, id)); }));
  CHECK_FALSE(lxe::reconcile::is_mount_point(volume_dir(fx, id) + "/mount0"));
  CHECK(lxe::test::read_file(host + "/secret") == "s3cret\n");
  CHECK(fs::exists(host + "/sub/f"));
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("volumes: paths through the image's symlinks, symlinked and missing host paths, files, read-only",
          "[lifecycle][volumes][lxd]") {
  CriFixture fx("volpath");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);

  // kubelet's service-account token, under /var/run (a symlink to ../run in the test image, as in
  // most distributions).
  const std::string token = private_dir(fx.dir().file("token"), 0755, {{"token", "tok\n"}});
  // A host path that is a symlink to the folder (critest: "... when host path is a symlink").
  const std::string real = private_dir(fx.dir().file("real"), 0755, {{"flag", "here\n"}});
  const std::string link = fx.dir().file("link");
  fs::create_directory_symlink(real, link);
  const std::string ro = private_dir(fx.dir().file("ro"), 0755, {{"keep", "k\n"}});
  const std::string rw = private_dir(fx.dir().file("rw"), 0755);
  // kubelet's termination log: a file mounted on a file.
  const std::string termination = fx.dir().file("termination-log");
  lxe::test::write_file(termination, "");
  // Does not exist: created as a folder, as containerd does.
  const std::string missing = fx.dir().file("missing/deeper");

  auto config = fx.container_config("c", {"sleep", "3600"});
  add_mount(config, token, "/var/run/secrets/kubernetes.io/serviceaccount", true);
  add_mount(config, link, "/linked");
  add_mount(config, ro, "/ro", true);
  add_mount(config, rw, "/rw");
  add_mount(config, termination, "/dev/termination-log");
  add_mount(config, missing, "/made");
  const std::string id = fx.must_run_container(pod_id, config, pod);

  CHECK(sh(fx, id, "cat /var/run/secrets/kubernetes.io/serviceaccount/token").stdout() == "tok\n");
  CHECK(sh(fx, id, "cat /run/secrets/kubernetes.io/serviceaccount/token").stdout() == "tok\n");
  CHECK(sh(fx, id, "cat /linked/flag").stdout() == "here\n");
  CHECK(sh(fx, id, "cat /ro/keep").stdout() == "k\n");
  {
    const auto r = sh(fx, id, "touch /ro/x");
    CHECK(r.exit_code() != 0);
    CHECK_THAT(r.stderr(), Catch::Contains("Read-only"));
    CHECK_FALSE(fs::exists(ro + "/x"));
    const auto t = sh(fx, id, "touch /var/run/secrets/kubernetes.io/serviceaccount/x");
    CHECK(t.exit_code() != 0);
  }
  CHECK(sh(fx, id, "touch /rw/x").exit_code() == 0);
  CHECK(fs::exists(rw + "/x"));
  CHECK(sh(fx, id, "echo done > /dev/termination-log").exit_code() == 0);
  CHECK(lxe::test::read_file(termination) == "done\n");
  CHECK(fs::is_directory(missing));
  CHECK(sh(fx, id, "touch /made/y").exit_code() == 0);
  CHECK(fs::exists(missing + "/y"));

  // LXD was given the path the container resolves to.
  const auto devices = fx.lxd().get_instance(instance_of(fx, id)).devices;
  CHECK(devices.at("mount0").at("path") == "/run/secrets/kubernetes.io/serviceaccount");
  CHECK(devices.at("mount0").at("readonly") == "true");
  CHECK(devices.at("mount1").at("path") == "/linked");
  CHECK(devices.at("mount2").at("readonly") == "true");
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("volumes: after lxe restarts, a running container keeps its volume, its staged mount is made again, and "
          "it is not restarted",
          "[lifecycle][volumes][lxd]") {
  CriFixture fx("volrestart");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string host = private_dir(fx.dir().file("data"), 0700, {{"f", "1\n"}});
  auto config = fx.container_config("c", {"sleep", "3600"});
  add_mount(config, host, "/data");
  const std::string id = fx.must_run_container(pod_id, config, pod);
  const std::string instance = instance_of(fx, id);
  REQUIRE_FALSE(instance.empty());
  const int64_t pid_before = fx.lxd().get_instance_state(instance).pid;
  REQUIRE(pid_before > 0);
  const std::string staged = volume_dir(fx, id) + "/mount0";
  REQUIRE(lxe::reconcile::is_mount_point(staged));

  // Staged volumes of a container the store does not have (its removal was cut short): swept.
  const std::string stray = fx.dir().path() + "/volumes/" + std::string(64, 'e');
  fx.restart_daemon([&] {
    // The staged mount goes away while lxe is down (as after an unmount by hand).
    REQUIRE(::umount2(staged.c_str(), MNT_DETACH) == 0);
    REQUIRE_FALSE(lxe::reconcile::is_mount_point(staged));
    fs::create_directories(stray);
    lxe::reconcile::stage_bind_mount(host, stray + "/mount0", lxe::UniqueFd(), true);
    REQUIRE(lxe::reconcile::is_mount_point(stray + "/mount0"));
  });

  // Made again by the new lxe, the container untouched.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!lxe::reconcile::is_mount_point(staged) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  INFO(fx.daemon_log_tail());
  CHECK(lxe::reconcile::is_mount_point(staged));
  CHECK_FALSE(fs::exists(stray));
  CHECK(fs::exists(host + "/f"));
  CHECK(fx.lxd().get_instance_state(instance).pid == pid_before);
  CHECK(fx.container_status(id).value.state() == cri::CONTAINER_RUNNING);
  CHECK(sh(fx, id, "cat /data/f").stdout() == "1\n");

  // The device removed behind lxe's back is plugged in again from the staged mount, idmapped,
  // into the running container.
  {
    const auto removed = lxc({"config", "device", "remove", instance, "mount0"});
    INFO("lxc: " << removed.out << removed.err);
    REQUIRE(removed.exit_code == 0);
    const auto deadline2 = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    bool back = false;
    while (!back && std::chrono::steady_clock::now() < deadline2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      back = fx.lxd().get_instance(instance).devices.count("mount0") == 1 &&
             sh(fx, id, "cat /data/f 2>/dev/null").stdout() == "1\n";
    }
    CHECK(back);
  }
  CHECK(sh(fx, id, "ls -ln /data | awk 'NR>1 {print $3, $4, $9}'").stdout() == "0 0 f\n");
  CHECK(fx.lxd().get_instance_state(instance).pid == pid_before);
  fx.remove_all_pods_and_expect_clean();
  CHECK_FALSE(fs::exists(volume_dir(fx, id)));
}
