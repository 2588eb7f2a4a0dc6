// The idle connections of a Session: kept within limits, checked before reuse.
#include "http/idle_connections.hpp"

#include <span>
#include <utility>

namespace eventlet::http::detail {
namespace {

// A connection is worth reusing only if nothing has arrived on it since its
// last response: an end of file means the server closed it, and bytes
// nobody asked for would be taken for the next response. One recv that
// never waits tells which (with TLS, it also takes in what the server may
// send between responses without the application seeing it: a session
// ticket, a key update). Either way a connection that gets a byte is not
// reused, so the byte it consumes is nobody's loss.
bool looks_usable(GreenSocket& socket) noexcept
{
    try {
        char byte;
        return !socket.try_recv(std::span<char>(&byte, 1)).has_value();
    } catch (const SocketError&) {
        return false;
    }
}

} // namespace

IdleConnections::IdleConnections(const SessionLimits& limits) : limits_(limits) {}

GreenSocket IdleConnections::take(const std::string& origin)
{
    const auto found = by_origin_.find(origin);
    if (found == by_origin_.end())
        return GreenSocket();
    std::vector<Idle>& idle = found->second;
    const Clock::time_point oldest_allowed = Clock::now() - limits_.idle_timeout.to_steady();
    GreenSocket usable;
    while (!idle.empty() && !usable) {
        Idle candidate = std::move(idle.back());
        idle.pop_back();
        --total_;
        if (candidate.since < oldest_allowed) {
            // The ones before it are older still.
            total_ -= idle.size();
            idle.clear();
        } else if (looks_usable(candidate.socket)) {
            usable = std::move(candidate.socket);
        }
        // Anything not taken is closed as `candidate` goes out of scope.
    }
    if (idle.empty())
        by_origin_.erase(found);
    return usable;
}

void IdleConnections::give_back(const std::string& origin, GreenSocket socket)
{
    if (total_ >= limits_.total)
        return; // closed on return: the newest is as good as any to drop
    std::vector<Idle>& idle = by_origin_[origin];
    if (idle.size() >= limits_.per_host)
        return;
    idle.push_back(Idle{std::move(socket), Clock::now()});
    ++total_;
}

void IdleConnections::clear() noexcept
{
    by_origin_.clear();
    total_ = 0;
}

} // namespace eventlet::http::detail
