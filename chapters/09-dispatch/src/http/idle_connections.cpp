// The idle connections of a Session: kept within limits, checked before reuse.
#include "http/idle_connections.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <utility>

namespace eventlet::http::detail {
namespace {

// A connection is worth reusing only if nothing has arrived on it since its
// last response: an end of file means the server closed it, and bytes
// nobody asked for would be taken for the next response. One recv that
// never waits tells which.
bool looks_usable(const GreenSocket& socket) noexcept
{
    char byte;
    const ssize_t received = ::recv(socket.fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

} // namespace

IdleConnections::IdleConnections(const SessionLimits& limits) : limits_(limits) {}

GreenSocket IdleConnections::take(const std::string& authority)
{
    const auto found = by_authority_.find(authority);
    if (found == by_authority_.end())
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
        by_authority_.erase(found);
    return usable;
}

void IdleConnections::give_back(const std::string& authority, GreenSocket socket)
{
    if (total_ >= limits_.total)
        return; // closed on return: the newest is as good as any to drop
    std::vector<Idle>& idle = by_authority_[authority];
    if (idle.size() >= limits_.per_host)
        return;
    idle.push_back(Idle{std::move(socket), Clock::now()});
    ++total_;
}

void IdleConnections::clear() noexcept
{
    by_authority_.clear();
    total_ = 0;
}

} // namespace eventlet::http::detail
