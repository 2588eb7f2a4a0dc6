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

/// At most this many lookups run at once for green threads that wait for
/// them, each on an OS thread of its own; more wait in line, and one given
/// up (timed out, killed) before it started leaves the line without running.
/// One given up while it runs goes on in its thread (getaddrinfo() cannot be
/// stopped) but no longer counts: a name whose server never answers holds
/// up no other lookup, up to max_lookup_threads_in_all threads.
inline constexpr std::size_t max_lookup_threads = 4;
/// The lookup threads there may be at once, those running given-up lookups
/// included.
inline constexpr std::size_t max_lookup_threads_in_all = 64;

/// Replaces the function the lookup threads call, for a test that needs a
/// slow or scripted name; an empty function puts getaddrinfo() back.
/// Lookups already running finish with the old one.
/// \returns the function replaced.
LookupFunction replace_lookup(LookupFunction lookup);

} // namespace eventlet::detail
