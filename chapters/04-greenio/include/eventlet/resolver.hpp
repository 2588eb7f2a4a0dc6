/// \file
/// Resolving host names without stopping the hub.
#pragma once

#include <optional>
#include <vector>

#include "eventlet/address.hpp"
#include "eventlet/seconds.hpp"

namespace eventlet {

/// The numeric addresses of `where`'s host, for TCP, in the order the
/// system prefers them (getaddrinfo's order), each with `where`'s port. A
/// numeric address is returned as it is, without switching.
///
/// A name is resolved by Asio's resolver, which runs the blocking
/// getaddrinfo() on a private thread of its own: the current green thread
/// parks on the hub meanwhile, and the others run.
/// \throws ResolveError if the name does not resolve; IOTimeout if
///         `timeout` expires first (the lookup goes on in its thread, and
///         its result is dropped); whatever is thrown into the green thread
///         while it waits.
std::vector<Address> resolve(const Address& where, std::optional<Seconds> timeout = std::nullopt);

} // namespace eventlet
