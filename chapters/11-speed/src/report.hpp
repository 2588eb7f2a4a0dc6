// Private: how the library reports an exception nobody is there to catch.
#pragma once

#include <string_view>

namespace eventlet::detail {

/// Writes "eventlet: <where> raised <type>: <what>" to std::cerr. Call it
/// only inside a catch block: it describes the exception being handled.
void report_current_exception(std::string_view where) noexcept;

} // namespace eventlet::detail
