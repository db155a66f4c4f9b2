// LineFramer lives in common/line_framer.h (the line channel in common frames with it); this
// name keeps the existing includes and protocol::LineFramer spellings working.
#pragma once

#include "common/line_framer.h"

namespace codeswarm::protocol {
using LineFramer = ::codeswarm::LineFramer;
}  // namespace codeswarm::protocol
