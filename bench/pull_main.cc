// lxe-bench-pull: does an image pull slow lxe's hot path? ListContainers latency (one client,
// back to back) while lxe is idle, while lxe pulls a big image (PullImage: skopeo, umoci, tar and
// LXD's import), and while the same pull runs by hand without lxe (skopeo copy, umoci raw unpack,
// tar, `lxc image import`): the last shows what the machine's load alone does to the calls. Also
// the pull's duration through lxe against by hand. Medians over --rounds rounds, interleaved.
//
//   lxe-bench-pull [--image REF] [--registries-conf PATH] [--rounds N] [--lxe PATH]
//
// Needs root, LXD and the test registry with the big image (scripts/bench-pull.sh sets it up).
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "common/subprocess.h"
#include "cri_client.h"
#include "lxe_process.h"
#include "stats.h"

namespace fs = std::filesystem;
using namespace lxe::bench;

namespace {

struct Args {
  std::string image = "127.0.0.1:5000/lxe-test/big:1";
  std::string registries_conf = "/var/lib/lxe-test-registry/registries.conf";
  std::string lxe;
  int rounds = 3;
};

// Calls ListContainers back to back until `stop`, into `samples` (µs).
void hammer(Cri& client, const std::atomic<bool>& stop, Samples& samples) {
  cri::ListContainersRequest request;
  while (!stop.load()) {
    const auto start = Clock::now();
    client.call<cri::ListContainersRequest, cri::ListContainersResponse>(
        "ListContainers", &cri::RuntimeService::Stub::ListContainers, request);
    samples.add(us_since(start));
  }
}

// Runs `work` while hammering; returns its duration in seconds.
template <typename Fn>
double during(Cri& client, Samples& samples, Fn&& work) {
  std::atomic<bool> stop{false};
  std::thread t([&] { hammer(client, stop, samples); });
  const auto start = Clock::now();
  try {
    work();
  } catch (...) {
    stop = true;
    t.join();
    throw;
  }
  const double s = ms_since(start) / 1000.0;
  stop = true;
  t.join();
  return s;
}

void run(const std::vector<std::string>& argv, const std::string& what) {
  lxe::ProcessSpec spec;
  spec.argv = {"nice", "-n", "10"};
  spec.argv.insert(spec.argv.end(), argv.begin(), argv.end());
  spec.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"};
  spec.timeout = std::chrono::minutes(10);
  const auto exit = lxe::run_process(spec);
  if (!exit.succeeded()) throw std::runtime_error(what + ": " + exit.describe() + ": " + exit.said());
}

// The pull by hand, as lxe does it, without lxe.
void raw_pull(const Args& args, const fs::path& work, const std::string& alias) {
  fs::remove_all(work);
  fs::create_directories(work / "image");
  run({"skopeo", "--registries-conf", args.registries_conf, "copy", "--quiet", "docker://" + args.image,
       "oci:" + (work / "oci").string() + ":image"},
      "skopeo copy");
  run({"umoci", "raw", "unpack", "--image", (work / "oci").string() + ":image", (work / "image/rootfs").string()},
      "umoci raw unpack");
  std::FILE* meta = std::fopen((work / "image/metadata.yaml").c_str(), "w");
  std::fprintf(meta, "architecture: x86_64\ncreation_date: %ld\n", static_cast<long>(::time(nullptr)));
  std::fclose(meta);
  run({"tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C", (work / "image").string(), "-cf",
       (work / "image.tar").string(), "metadata.yaml", "rootfs"},
      "tar");
  run({"lxc", "image", "import", (work / "image.tar").string(), "--alias", alias}, "lxc image import");
  fs::remove_all(work);
}

std::string row(const std::string& what, const Samples& s) {
  return "| " + what + " | " + std::to_string(s.size()) + " | " + num(s.median() / 1000.0, 2) + " | " +
         num(s.pct(99) / 1000.0, 2) + " | " + num(s.max() / 1000.0, 1) + " |";
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--image") args.image = argv[i + 1];
    else if (flag == "--registries-conf") args.registries_conf = argv[i + 1];
    else if (flag == "--rounds") args.rounds = std::stoi(argv[i + 1]);
    else if (flag == "--lxe") args.lxe = argv[i + 1];
    else {
      std::cerr << "lxe-bench-pull: unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (args.lxe.empty()) args.lxe = (fs::read_symlink("/proc/self/exe").parent_path() / "lxe").string();
  const std::string prefix = "lxebench-pull" + std::to_string(::getpid());
  const fs::path dir = fs::temp_directory_path() / prefix;
  fs::create_directories(dir);
  try {
    LxeProcess lxe({.binary = args.lxe,
                    .socket = (dir / "lxe.sock").string(),
                    .db = (dir / "lxe.db").string(),
                    .lxd_socket = "/var/lib/lxd/unix.socket",
                    .prefix = prefix,
                    .log_dir = dir.string(),
                    .mark = std::to_string(::getpid()),
                    .extra_args = {"--registries-conf", args.registries_conf}});
    lxe.start();
    Cri client(make_channel((dir / "lxe.sock").string()));
    auto images = cri::ImageService::NewStub(make_channel((dir / "lxe.sock").string()));
    Samples idle, lxe_pull, raw_pull_samples;
    std::vector<double> lxe_s, raw_s;
    for (int round = 0; round < args.rounds; ++round) {
      std::cerr << "round " << round + 1 << "/" << args.rounds << "\n";
      during(client, idle, [] { std::this_thread::sleep_for(std::chrono::seconds(3)); });
      std::string id;
      lxe_s.push_back(during(client, lxe_pull, [&] {
        grpc::ClientContext ctx;
        set_deadline(ctx, std::chrono::minutes(10));
        cri::PullImageRequest request;
        request.mutable_image()->set_image(args.image);
        cri::PullImageResponse response;
        const auto status = images->PullImage(&ctx, request, &response);
        if (!status.ok()) throw CallError("PullImage: " + describe(status));
        id = response.image_ref();
      }));
      {
        grpc::ClientContext ctx;
        set_deadline(ctx, std::chrono::minutes(2));
        cri::RemoveImageRequest request;
        request.mutable_image()->set_image(id);
        cri::RemoveImageResponse response;
        const auto status = images->RemoveImage(&ctx, request, &response);
        if (!status.ok()) throw CallError("RemoveImage: " + describe(status));
      }
      const std::string alias = prefix + "-raw";
      raw_s.push_back(during(client, raw_pull_samples, [&] { raw_pull(args, dir / "raw", alias); }));
      run({"lxc", "image", "delete", alias}, "lxc image delete");
    }
    lxe.stop();
    const auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    std::cout << "## Image pull and the hot path\n\n"
              << "Image `" << args.image << "`, " << args.rounds << " rounds; ListContainers back to back on one "
              << "connection (no containers), in ms.\n\n"
              << "| ListContainers while | calls | p50 | p99 | max |\n|---|---|---|---|---|\n"
              << row("lxe idle", idle) << "\n"
              << row("lxe pulls the image", lxe_pull) << "\n"
              << row("the same pull runs by hand (no lxe)", raw_pull_samples) << "\n\n"
              << "p99 during lxe's pull / idle: " << num(lxe_pull.pct(99) / idle.pct(99), 2)
              << "; during lxe's pull / during the pull by hand: " << num(lxe_pull.pct(99) / raw_pull_samples.pct(99), 2)
              << "\n\n| pull | median s |\n|---|---|\n| through lxe (PullImage) | " << num(median(lxe_s), 2)
              << " |\n| by hand (skopeo, umoci, tar, lxc image import) | " << num(median(raw_s), 2)
              << " |\n\nlxe / by hand: " << num(median(lxe_s) / median(raw_s), 2) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "lxe-bench-pull: " << e.what() << "\n";
    fs::remove_all(dir);
    return 1;
  }
  fs::remove_all(dir);
  return 0;
}
