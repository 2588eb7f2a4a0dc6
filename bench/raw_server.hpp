/// \file
/// What the echo rows' floors share (echo_epoll_raw, echo_uring_raw): their
/// clients, the listening socket and the signals that stop them, made with
/// bare system calls, as the rest of those programs is.
#pragma once

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <netdb.h>
#include <netinet/in.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.hpp"

namespace bench {

/// The most one read of a client takes, as build/bin/echo_server's buffer.
constexpr std::size_t echo_buffer_size = 4096;

/// A client of an echo floor: its descriptor, its buffer, and the bytes of
/// an echo the kernel has not taken yet.
struct EchoClient {
    int fd = -1;
    std::array<char, echo_buffer_size> buffer{};
    std::size_t unsent_from = 0;
    std::size_t unsent_to = 0;
};

/// The clients by descriptor number, as the hub's FdTable keeps its
/// watches; each one closed when it leaves the table, or with the table.
class EchoClients {
public:
    EchoClients() = default;
    ~EchoClients()
    {
        for (const auto& client : by_fd_) {
            if (client)
                ::close(client->fd);
        }
    }
    EchoClients(const EchoClients&) = delete;
    EchoClients& operator=(const EchoClients&) = delete;

    /// A new client on `fd`, which the table now owns.
    EchoClient& add(int fd)
    {
        const auto slot = static_cast<std::size_t>(fd);
        if (slot >= by_fd_.size())
            by_fd_.resize(slot + 1);
        by_fd_[slot] = std::make_unique<EchoClient>();
        by_fd_[slot]->fd = fd;
        return *by_fd_[slot];
    }
    /// The client on `fd`, or null (closed already, or not a client's).
    EchoClient* find(int fd) const noexcept
    {
        const auto slot = static_cast<std::size_t>(fd);
        return slot < by_fd_.size() ? by_fd_[slot].get() : nullptr;
    }
    /// Closes the client's descriptor and forgets it.
    void close(EchoClient& client) noexcept
    {
        const int fd = client.fd;
        ::close(fd);
        by_fd_[static_cast<std::size_t>(fd)].reset();
    }

private:
    std::vector<std::unique_ptr<EchoClient>> by_fd_;
};

/// "what: the text of `error`" (an errno value).
inline std::string error_text(const char* what, int error = errno)
{
    return std::string(what) + ": " + std::strerror(error);
}

/// A TCP socket listening on `host`:`port` (numeric; port "0" lets the
/// system choose), with the backlog the 500-connection row needs: it
/// connects faster than a server may accept. `flags` go to socket()
/// (SOCK_NONBLOCK for a readiness server). Fails the program on error.
inline int listen_on(const std::string& host, const std::string& port, int flags)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    addrinfo* found = nullptr;
    if (const int error = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); error != 0)
        fail("cannot listen on " + host + ":" + port + ": " + ::gai_strerror(error));
    const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    const int one = 1;
    if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, 1024) != 0)
        fail(error_text(("cannot listen on " + host + ":" + port).c_str()));
    ::freeaddrinfo(found);
    return fd;
}

/// The port a socket is bound to.
inline std::uint16_t bound_port(int fd)
{
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
        fail(error_text("getsockname"));
    const in_port_t port = address.ss_family == AF_INET6
                               ? reinterpret_cast<const sockaddr_in6&>(address).sin6_port
                               : reinterpret_cast<const sockaddr_in&>(address).sin_port;
    return ntohs(port);
}

/// Blocks SIGTERM and SIGINT and returns a descriptor that becomes readable
/// when one arrives: the server stops on it from its own loop, not from a
/// handler. `flags` go to signalfd() (SFD_NONBLOCK).
inline int stop_signals(int flags)
{
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    if (::sigprocmask(SIG_BLOCK, &stops, nullptr) != 0)
        fail(error_text("sigprocmask"));
    const int fd = ::signalfd(-1, &stops, SFD_CLOEXEC | flags);
    if (fd < 0)
        fail(error_text("signalfd"));
    return fd;
}

/// The main() of a floor: listens where the command line says (the CLI of
/// build/bin/echo_server), prints "listening on H:P", and runs
/// `Server(listener, signals).run()`, which returns when a stop signal
/// comes; then exits 0. `socket_flags` and `signal_flags` as for
/// listen_on() and stop_signals().
template <class Server>
int serve_until_stopped(int argc, char** argv, int socket_flags, int signal_flags)
{
    const auto [host, port] = server_arguments(argc, argv, "6000");
    const int signals = stop_signals(signal_flags);
    const int listener = listen_on(host, port, socket_flags);
    {
        Server server(listener, signals);
        std::printf("listening on %s:%u\n", host.c_str(), bound_port(listener));
        std::fflush(stdout);
        server.run();
    }
    ::close(listener);
    ::close(signals);
    return 0;
}

} // namespace bench
