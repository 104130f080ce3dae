#include "images/oci_fetch.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "common/subprocess.h"
#include "common/unique_fd.h"

namespace lxe::images {

namespace fs = std::filesystem;

namespace {

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A blob of the layout by its digest ("sha256:<hex>"), refusing digests that are no plain hex.
fs::path blob_path(const fs::path& dir, const std::string& digest) {
  const auto colon = digest.find(':');
  if (colon == std::string::npos || digest.find_first_of("/.", colon) != std::string::npos)
    throw std::runtime_error("malformed digest '" + digest + "' in the OCI layout");
  return dir / "blobs" / digest.substr(0, colon) / digest.substr(colon + 1);
}

std::chrono::milliseconds left_until(Deadline deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
}

// The environment of the helpers: lxe's PATH, HOME and proxy settings, and temporary files in
// the work folder (skopeo keeps blobs there while it copies).
std::vector<std::string> helper_env(const fs::path& tmpdir) {
  std::vector<std::string> env;
  for (const char* name : {"PATH", "HOME", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
                           "no_proxy"})
    if (const char* value = std::getenv(name)) env.push_back(std::string(name) + "=" + value);
  if (!std::getenv("HOME")) env.push_back("HOME=/root");
  if (!tmpdir.empty()) env.push_back("TMPDIR=" + tmpdir.string());
  return env;
}

// An in-memory file holding the credentials, passed to skopeo as its fd 3.
class AuthFile {
 public:
  AuthFile(const RegistryAuth& auth, const std::string& registry) {
    if (auth.empty()) return;
    fd_ = UniqueFd(::memfd_create("lxe-registry-auth", MFD_CLOEXEC));
    if (!fd_.valid()) throw std::runtime_error("memfd_create: " + std::string(std::strerror(errno)));
    const std::string text = authfile_json(auth, registry);
    size_t written = 0;
    while (written < text.size()) {
      const ssize_t n = ::write(fd_.get(), text.data() + written, text.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("writing the registry credentials to memory failed");
      written += static_cast<size_t>(n);
    }
  }
  // Arguments that point skopeo at it ("--authfile /proc/self/fd/3"), and the descriptors to pass.
  std::vector<std::string> args(const std::string& flag) const {
    if (!fd_.valid()) return {};
    return {flag, "/proc/self/fd/3"};
  }
  std::vector<int> fds() const { return fd_.valid() ? std::vector<int>{fd_.get()} : std::vector<int>{}; }

 private:
  UniqueFd fd_;
};

ProcessExit run_helper(const FetchTools& tools, std::vector<std::string> args, const fs::path& tmpdir,
                       Deadline deadline, std::vector<int> fds = {}) {
  ProcessSpec spec;
  spec.argv = {"nice", "-n", std::to_string(tools.niceness)};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = helper_env(tmpdir);
  spec.timeout = std::max(left_until(deadline), std::chrono::milliseconds(1));
  spec.pass_fds = std::move(fds);
  spec.own_process_group = true;
  return run_process(spec);
}

std::vector<std::string> skopeo_global(const FetchTools& tools, Deadline deadline) {
  std::vector<std::string> args = {tools.skopeo};
  if (!tools.registries_conf.empty()) args.insert(args.end(), {"--registries-conf", tools.registries_conf});
  // skopeo's own timeout, a little before the deadline: it then says which registry did not
  // answer, where being killed would say nothing.
  const auto left = left_until(deadline) - std::chrono::milliseconds(300);
  args.insert(args.end(), {"--command-timeout", std::to_string(std::max<int64_t>(left.count(), 1)) + "ms"});
  return args;
}

PullError helper_failure(const std::string& what, const ProcessExit& exit, Deadline deadline,
                         bool classify_as_registry) {
  if (exit.timed_out || (std::chrono::steady_clock::now() >= deadline - std::chrono::milliseconds(300) &&
                         !exit.succeeded() && exit.said().find("context deadline exceeded") != std::string::npos))
    return {PullError::Kind::DeadlineExceeded, what + " did not finish before the caller's deadline"};
  const std::string said = exit.said().empty() ? exit.describe() : skopeo_message(exit.said());
  return {classify_as_registry ? classify_skopeo_failure(said) : PullError::Kind::Failed, what + ": " + said};
}

std::string registry_of(const model::ImageRef& ref) { return ref.domain; }

}  // namespace

std::string authfile_json(const RegistryAuth& auth, const std::string& registry) {
  nlohmann::json entry = nlohmann::json::object();
  if (!auth.auth.empty()) entry["auth"] = auth.auth;
  else if (!auth.username.empty() || !auth.password.empty()) entry["auth"] = base64(auth.username + ":" + auth.password);
  if (!auth.identity_token.empty()) entry["identitytoken"] = auth.identity_token;
  nlohmann::json auths = {{registry, entry}};
  if (!auth.server_address.empty()) {
    // kubelet's server address may be a URL ("https://index.docker.io/v1/"): its host names it.
    std::string host = auth.server_address;
    if (const auto scheme = host.find("://"); scheme != std::string::npos) host = host.substr(scheme + 3);
    host = host.substr(0, host.find('/'));
    if (!host.empty() && host != registry) auths[host] = entry;
  }
  return nlohmann::json{{"auths", auths}}.dump();
}

LayoutImage read_oci_layout(const fs::path& dir, const std::string& tag) {
  const auto index = nlohmann::json::parse(read_file(dir / "index.json"));
  std::optional<nlohmann::json> descriptor;
  for (const auto& m : index.value("manifests", nlohmann::json::array())) {
    if (!m.is_object()) continue;
    const auto annotations = m.value("annotations", nlohmann::json::object());
    if (annotations.value("org.opencontainers.image.ref.name", "") == tag) descriptor = m;
  }
  if (!descriptor) throw std::runtime_error("the OCI layout " + dir.string() + " has no image tagged " + tag);
  LayoutImage out;
  out.manifest_digest = descriptor->value("digest", "");
  const auto manifest = nlohmann::json::parse(read_file(blob_path(dir, out.manifest_digest)));
  const auto& config = manifest.at("config");
  out.config_digest = config.value("digest", "");
  out.size = config.value("size", int64_t{0});
  for (const auto& layer : manifest.value("layers", nlohmann::json::array())) out.size += layer.value("size", int64_t{0});
  out.config = nlohmann::json::parse(read_file(blob_path(dir, out.config_digest)));
  if (out.config_digest.rfind("sha256:", 0) != 0 || out.config_digest.size() != 71)
    throw std::runtime_error("the image's config digest '" + out.config_digest + "' is not a sha256 digest");
  return out;
}

std::string lxd_architecture(const std::string& oci) {
  if (oci == "amd64") return "x86_64";
  if (oci == "arm64") return "aarch64";
  if (oci == "arm") return "armv7l";
  if (oci == "386") return "i686";
  if (oci == "ppc64le") return "ppc64le";
  if (oci == "s390x") return "s390x";
  if (oci == "riscv64") return "riscv64";
  return "";
}

std::string metadata_yaml(const std::string& architecture, int64_t created_unix, const std::string& description) {
  // The description is a JSON string: valid YAML whatever characters a reference holds.
  return "architecture: " + architecture + "\ncreation_date: " + std::to_string(created_unix) +
         "\nproperties:\n  description: " + nlohmann::json(description).dump() + "\n";
}

std::string sha256_digest(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("sha256 failed");
  static const char* digits = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 15];
  }
  return out;
}

std::variant<std::string, PullError> resolve_manifest_digest(const model::ImageRef& ref, const RegistryAuth& auth,
                                                             const FetchTools& tools, Deadline deadline) {
  const AuthFile authfile(auth, registry_of(ref));
  auto args = skopeo_global(tools, deadline);
  args.insert(args.end(), {"inspect", "--raw"});
  for (auto& a : authfile.args("--authfile")) args.push_back(a);
  if (!auth.registry_token.empty()) args.insert(args.end(), {"--registry-token", auth.registry_token});
  args.push_back("docker://" + ref.to_string());
  const ProcessExit exit = run_helper(tools, args, "", deadline, authfile.fds());
  if (!exit.succeeded()) return helper_failure("asking " + registry_of(ref) + " for " + ref.to_string(), exit, deadline, true);
  const std::string digest = sha256_digest(exit.out);
  if (!ref.digest.empty() && ref.digest != digest)
    return PullError{PullError::Kind::Failed, registry_of(ref) + " served a manifest with digest " + digest +
                                                  " for " + ref.to_string() + "; refusing it"};
  return digest;
}

std::variant<FetchedImage, PullError> fetch_oci_image(const model::ImageRef& pinned, const RegistryAuth& auth,
                                                      const FetchTools& tools, const fs::path& work, Deadline deadline) {
  const fs::path layout = work / "oci";
  const fs::path image = work / "image";
  const fs::path tmp = work / "tmp";
  std::error_code ec;
  fs::create_directories(tmp, ec);
  fs::create_directories(image, ec);
  if (ec) return PullError{PullError::Kind::Failed, "cannot make the work folder " + work.string() + ": " + ec.message()};

  const AuthFile authfile(auth, registry_of(pinned));
  auto copy = skopeo_global(tools, deadline);
  copy.insert(copy.end(), {"copy", "--quiet"});
  for (auto& a : authfile.args("--src-authfile")) copy.push_back(a);
  if (!auth.registry_token.empty()) copy.insert(copy.end(), {"--src-registry-token", auth.registry_token});
  copy.insert(copy.end(), {"docker://" + pinned.to_string(), "oci:" + layout.string() + ":image"});
  if (const auto exit = run_helper(tools, copy, tmp, deadline, authfile.fds()); !exit.succeeded())
    return helper_failure("copying " + pinned.to_string() + " from " + registry_of(pinned), exit, deadline, true);

  FetchedImage out;
  try {
    out.layout = read_oci_layout(layout, "image");
    out.defaults.config = model::parse_oci_image_config(out.layout.config);
  } catch (const std::exception& e) {
    return PullError{PullError::Kind::Failed, pinned.to_string() + " is no usable OCI image: " + e.what()};
  }
  const std::string os = out.layout.config.value("os", "linux");
  if (os != "linux")
    return PullError{PullError::Kind::Failed, pinned.to_string() + " is an image for " + os + ", not for linux"};
  out.architecture = lxd_architecture(out.layout.config.value("architecture", ""));
  if (out.architecture.empty())
    return PullError{PullError::Kind::Failed, pinned.to_string() + " is for architecture '" +
                                                  out.layout.config.value("architecture", "") +
                                                  "', which lxe cannot name to LXD"};

  // The rootfs only (umoci's runtime spec is not needed), owners as the layers say: lxe runs as root.
  const auto unpack = run_helper(tools, {tools.umoci, "raw", "unpack", "--image", layout.string() + ":image",
                                         (image / "rootfs").string()},
                                 tmp, deadline);
  if (!unpack.succeeded()) return helper_failure("unpacking " + pinned.to_string(), unpack, deadline, false);

  // Users and groups by name, from regular files only: an image's /etc/passwd that is a symlink
  // could point anywhere on the host.
  const auto regular_text = [&](const char* relative) -> std::string {
    const fs::path etc = image / "rootfs" / "etc";
    std::error_code ignored;
    if (fs::is_symlink(etc, ignored) || !fs::is_directory(etc, ignored)) return "";
    const fs::path file = etc / relative;
    if (fs::is_symlink(file, ignored) || !fs::is_regular_file(file, ignored)) return "";
    try {
      return read_file(file);
    } catch (const std::exception&) {
      return "";
    }
  };
  out.defaults.users = model::parse_image_users(regular_text("passwd"), regular_text("group"));

  const int64_t created = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
  {
    std::ofstream meta(image / "metadata.yaml", std::ios::binary);
    meta << metadata_yaml(out.architecture, created, pinned.to_string());
    if (!meta) return PullError{PullError::Kind::Failed, "cannot write metadata.yaml in " + image.string()};
  }
  out.tarball = work / "image.tar";
  const auto pack = run_helper(tools, {tools.tar, "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C",
                                       image.string(), "-cf", out.tarball.string(), "metadata.yaml", "rootfs"},
                               tmp, deadline);
  if (!pack.succeeded()) return helper_failure("packing " + pinned.to_string() + " for LXD", pack, deadline, false);
  return out;
}

}  // namespace lxe::images
