// Private: GreenSocket's way into the hub's ring (ring_wait.cpp).
#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include "eventlet/hub.hpp"
#include "eventlet/seconds.hpp"

namespace eventlet::detail {

/// Reads from `fd` through the ring of `hub`, the current thread's, parking
/// the running green thread until the read completes (Hub::Impl::ring_receive()).
/// \returns recv(2)'s result, or -errno; nullopt if the hub reads the
///          readiness way (no ring, or its queue full).
/// \throws IOTimeout, IOClosed, std::logic_error, or what is thrown into
///         the green thread; in the last case `landed` counts the bytes the
///         read had put into `buffer` before it was cancelled.
std::optional<int> receive_through_ring(Hub& hub, int fd, std::span<std::byte> buffer,
                                        std::optional<Seconds> timeout, std::size_t& landed);

} // namespace eventlet::detail
