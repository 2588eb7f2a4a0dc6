// Private: how the library reports an exception nobody is there to catch.
#pragma once

#include <string_view>

namespace eventlet::detail {

/// Writes "eventlet: <where> raised <type>: <what>" to std::cerr. Call it
/// only inside a catch block: it describes the exception being handled.
void report_current_exception(std::string_view where) noexcept;

/// Writes "eventlet: fatal: <message>" to stderr and ends the process
/// (std::abort). For a mistake found where nothing can be thrown (a
/// destructor, a noexcept call) and going on would corrupt memory.
[[noreturn]] void fatal_misuse(std::string_view message) noexcept;

} // namespace eventlet::detail
