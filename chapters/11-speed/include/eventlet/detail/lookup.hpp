/// \file
/// The blocking lookup behind resolve(), and how many run at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eventlet/address.hpp"

namespace eventlet::detail {

/// Resolves `host` for TCP, blocking the OS thread that calls it: what the
/// lookup threads behind resolve() run, getaddrinfo() by default.
/// \returns the numeric addresses, each with `port`.
/// \throws ResolveError.
using LookupFunction =
    std::function<std::vector<Address>(const std::string& host, std::uint16_t port)>;

/// At most this many lookups run at once, each on an OS thread of its own;
/// more wait in line, and one given up (timed out, killed) before it
/// started leaves the line without running.
inline constexpr std::size_t max_lookup_threads = 4;

/// Replaces the function the lookup threads call, for a test that needs a
/// slow or scripted name; an empty function puts getaddrinfo() back.
/// Lookups already running finish with the old one.
/// \returns the function replaced.
LookupFunction replace_lookup(LookupFunction lookup);

} // namespace eventlet::detail
