// Test support for the chapters from green sockets on.
#pragma once

#include <catch2/catch.hpp>

#include <eventlet/errors.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/socket.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <utility>

namespace test_support {

/// True if this machine can bind ::1. When it cannot, the IPv6 checks are
/// skipped with a warning instead of failing: some containers have no IPv6.
inline bool ipv6_available()
{
    static const bool available = [] {
        const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
        if (fd < 0)
            return false;
        sockaddr_in6 loopback{};
        loopback.sin6_family = AF_INET6;
        loopback.sin6_addr = in6addr_loopback;
        const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&loopback), sizeof loopback) == 0;
        ::close(fd);
        return bound;
    }();
    if (!available)
        WARN("::1 cannot be bound on this machine: the IPv6 checks are skipped");
    return available;
}

/// The loopback address of `family`, port 0 (the system chooses one).
inline eventlet::Address loopback(eventlet::Family family)
{
    return {family == eventlet::Family::ipv6 ? "::1" : "127.0.0.1", 0};
}

/// Both ends of a fresh TCP connection on the loopback of `family`.
struct Connection {
    eventlet::GreenSocket client;
    eventlet::GreenSocket server;
};

/// Connects through a listener that is closed again: a connect on the
/// loopback completes in the kernel's backlog, before accept() takes it,
/// so the calling green thread can do both in turn.
inline Connection connect_pair(eventlet::Family family = eventlet::Family::ipv4)
{
    eventlet::GreenSocket listener = eventlet::listen(loopback(family));
    eventlet::GreenSocket client = eventlet::connect(listener.local_address(), 5);
    listener.set_timeout(5);
    eventlet::GreenSocket server = listener.accept().socket;
    return {std::move(client), std::move(server)};
}

/// A green thread that receives once on `socket` (at most 64 bytes): its
/// result is what came, or "IOClosed". It parks in recv() once it runs, at
/// the next turn.
inline eventlet::GreenThread<std::string> reader_of(eventlet::GreenSocket& socket)
{
    return eventlet::spawn([&socket]() -> std::string {
        try {
            return socket.recv(std::size_t{64});
        } catch (const eventlet::IOClosed&) {
            return "IOClosed";
        }
    });
}

} // namespace test_support
