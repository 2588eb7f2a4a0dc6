// Internal: the idle keep-alive connections of an http::Session.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include "eventlet/http/session.hpp"
#include "eventlet/socket.hpp"

namespace eventlet::http::detail {

/// Idle connections, by the origin (scheme, host and port) they lead to. Every
/// operation runs without parking, so green threads of one hub share it
/// without a lock.
class IdleConnections {
public:
    explicit IdleConnections(const SessionLimits& limits);

    /// The most recently used idle connection to `origin` that still
    /// looks usable, taken out of the pool; a closed socket if none does.
    GreenSocket take(const std::string& origin);
    /// Keeps `socket`, whose last response was read to its end, for the
    /// next request to `origin`; closes it if the limits are reached.
    void give_back(const std::string& origin, GreenSocket socket);
    /// Counts a response that came on a connection take() returned.
    void count_reuse() noexcept { ++reused_; }

    std::size_t size() const noexcept { return total_; }
    std::size_t reused() const noexcept { return reused_; }
    void clear() noexcept;

private:
    using Clock = std::chrono::steady_clock;
    struct Idle {
        GreenSocket socket;
        Clock::time_point since;
    };

    SessionLimits limits_;
    // Per origin, oldest first: take() uses the back, the connection the
    // server has seen most recently, the least likely to be closed by now.
    std::unordered_map<std::string, std::vector<Idle>> by_origin_;
    std::size_t total_ = 0;
    std::size_t reused_ = 0;
};

} // namespace eventlet::http::detail
