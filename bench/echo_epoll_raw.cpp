// The floor of the echo rows: the echo server with the shape of our hub and
// nothing else. One thread, one epoll set; each connection registered once,
// for reading and writing, edge-triggered; up to 64 ready descriptors from
// each epoll_wait; on a read edge, recv() of up to 4096 bytes and a send() of
// what came, until a read comes back short (the kernel then has nothing
// more, and new data brings a new edge). No green thread, no switch, no
// timer, no library: what is left when everything of ours is taken away but
// the system calls, so that the row shows how far above this floor each
// server's own work puts it.
//
// Usage: echo_epoll_raw [--host H] [--port P]   (the CLI of build/bin/echo_server)
// Prints "listening on H:P" once it listens (P chosen by the OS for
// --port 0); exits 0 on SIGTERM or SIGINT.
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.hpp"
#include "raw_server.hpp"

namespace {

constexpr std::size_t buffer_size = bench::echo_buffer_size;
constexpr int harvest = 64; // as the hub's harvest_ready()

// A client with bytes of an echo the kernel did not take yet waits for room
// (a write edge) before it reads again.
using Connection = bench::EchoClient;

class Server {
public:
    Server(int listener, int signals) : listener_(listener), signals_(signals)
    {
        epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epoll_ < 0)
            bench::fail(bench::error_text("epoll_create1"));
        // The listener and the signals level-triggered: looked at until drained.
        watch(listener_, EPOLLIN);
        watch(signals_, EPOLLIN);
    }
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server() { ::close(epoll_); }

    // Serves until a signal comes.
    void run()
    {
        std::array<epoll_event, harvest> events{};
        for (;;) {
            const int count = ::epoll_wait(epoll_, events.data(), harvest, -1);
            if (count < 0 && errno != EINTR)
                bench::fail(bench::error_text("epoll_wait"));
            for (int i = 0; i < count; ++i) {
                const int fd = events[static_cast<std::size_t>(i)].data.fd;
                if (fd == signals_)
                    return;
                if (fd == listener_)
                    accept_all();
                else
                    serve(fd, events[static_cast<std::size_t>(i)].events);
            }
        }
    }

private:
    void watch(int fd, std::uint32_t events)
    {
        epoll_event event{};
        event.events = events;
        event.data.fd = fd;
        if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0)
            bench::fail(bench::error_text("epoll_ctl"));
    }

    void accept_all()
    {
        for (;;) {
            const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EAGAIN || errno == ECONNABORTED || errno == EINTR)
                    return;
                bench::fail(bench::error_text("accept4"));
            }
            // As build/bin/echo_server does: no echo waits for Nagle.
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            connections_.add(fd);
            watch(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
        }
    }

    void serve(int fd, std::uint32_t events)
    {
        Connection* const connection = connections_.find(fd);
        if (connection == nullptr)
            return;
        if ((events & (EPOLLERR | EPOLLHUP)) != 0 && (events & EPOLLIN) == 0) {
            close(*connection);
            return;
        }
        if (!flush(*connection))
            return;
        for (;;) {
            const ssize_t got = ::recv(fd, connection->buffer.data(), buffer_size, 0);
            if (got < 0 && errno == EAGAIN)
                return;
            if (got <= 0) { // the client's end, or an error: it is gone
                close(*connection);
                return;
            }
            connection->unsent_from = 0;
            connection->unsent_to = static_cast<std::size_t>(got);
            if (!flush(*connection))
                return;
            if (static_cast<std::size_t>(got) < buffer_size)
                return; // a short read: the next arrival brings an edge
        }
    }

    // Sends what is left of the echo; false if some is still left (or the
    // connection is gone), and then nothing more is read until room comes.
    bool flush(Connection& connection)
    {
        while (connection.unsent_from < connection.unsent_to) {
            const ssize_t sent = ::send(connection.fd, connection.buffer.data() + connection.unsent_from,
                                        connection.unsent_to - connection.unsent_from, MSG_NOSIGNAL);
            if (sent < 0) {
                if (errno != EAGAIN)
                    close(connection);
                return false;
            }
            connection.unsent_from += static_cast<std::size_t>(sent);
        }
        return true;
    }

    // Also out of the epoll set: nothing else holds the descriptor.
    void close(Connection& connection) { connections_.close(connection); }

    int listener_;
    int signals_;
    int epoll_ = -1;
    bench::EchoClients connections_;
};

} // namespace

int main(int argc, char** argv)
{
    // SIGTERM and SIGINT arrive as a descriptor in the set, not as a handler.
    return bench::serve_until_stopped<Server>(argc, argv, SOCK_NONBLOCK, SFD_NONBLOCK);
}
