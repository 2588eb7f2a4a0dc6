// Private: a span of time as the library's messages write it.
#pragma once

#include <string>

#include "eventlet/seconds.hpp"

namespace eventlet::detail {

/// The span's seconds in six significant digits, as `%g` writes them
/// ("0.5", "1e-07", "inf"): std::to_string's six decimals would print a
/// tenth of a microsecond as "0.000000".
std::string seconds_text(Seconds span);

} // namespace eventlet::detail
