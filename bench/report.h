// The markdown report: a header, one table (or two) per section, and the targets of issue 6
// (reported, never asserted). A pure function of what was measured.
#pragma once

#include <string>

#include "results.h"

namespace lxe::bench {

std::string render_report(const Report& report);

}  // namespace lxe::bench
