// lxe-ctl: read-only inspection of lxe's store. This first version knows `version`; the inspection
// subcommands come with the lifecycle work (see docs/architecture.md).
#include <cstdio>
#include <cstring>
#include <string>

#include "common/defaults.h"
#include "common/version.h"
#include "store/migrations.h"

namespace {

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "Usage: lxe-ctl <command> [flags]\n"
               "\n"
               "Commands:\n"
               "  version   print lxe-ctl's version and the store schema version it reads\n"
               "\n"
               "Flags:\n"
               "  --help    print this help\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    print_usage(stdout);
    return 0;
  }
  if (command == "version" || command == "--version") {
    std::printf("lxe-ctl %s (store schema %d)\n", lxe::kVersion, lxe::store::latest_schema_version());
    return 0;
  }
  std::fprintf(stderr, "lxe-ctl: error: unknown command '%s' (see lxe-ctl --help)\n", command.c_str());
  return 2;
}
