// Runs an lxe-ctl invocation: opens the store read-only, reads LXD when the command needs it, and
// writes the output. Every failure becomes one line on `err` and an exit code (args.h).
#pragma once

#include <memory>
#include <ostream>
#include <string>

#include "ctl/args.h"
#include "store/store.h"

namespace lxe::ctl {

struct Io {
  std::ostream& out;
  std::ostream& err;
  bool out_is_tty = false;
};

// Returns the exit code.
int run(const Invocation& invocation, Io io);

// lxe-ctl's only way into the store: read-only (SQLite opened with SQLITE_OPEN_READONLY and
// query_only), never migrating, refusing any schema version but its own. Throws store::StoreError
// (or std::filesystem::filesystem_error when the path cannot be examined).
std::unique_ptr<store::Store> open_store_readonly(const std::string& path);

// Whether output to a terminal gets colour: --color, NO_COLOR, TERM=dumb.
bool use_color(ColorMode mode, bool out_is_tty);

}  // namespace lxe::ctl
