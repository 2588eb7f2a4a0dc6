// The load client of the echo rows (echo_c50, echo_c500), the same for every
// server: N connections to HOST:PORT, each sending 64 bytes and waiting for
// the same 64 bytes to come back before it sends the next 64 (one round trip
// in flight per connection, as N interactive clients). One thread, one epoll
// set, level-triggered, no library of ours: the client must cost the same
// whichever server it measures.
//
// Usage: echo_load HOST PORT CONNECTIONS SECONDS WARMUP_SECONDS
//
// Connects all N first (blocking connect, then non-blocking sockets), then
// warms up: at least WARMUP_SECONDS, and until every connection has made at
// least one round trip (a server that accepts slowly, or a connection that
// waits in the accept queue, is not measured as a slow round trip). Then it
// counts for SECONDS: the round trips that end inside that window, and the
// latency of each (from its send to the last byte of its echo, steady_clock).
// Every echo is checked byte for byte against what that connection sent.
//
// Prints one line: round trips per second, then p50_us=... p99_us=...
// (the runner reads the first number, and shows the rest beside the row).
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t message_size = 64;

/// An fd that is closed when it goes out of scope.
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    Fd& operator=(Fd&& other) noexcept
    {
        std::swap(fd_, other.fd_);
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

struct Connection {
    Fd socket;
    std::array<char, message_size> sent{};
    std::array<char, message_size> received{};
    std::size_t have = 0;       // bytes of the current echo received so far
    Clock::time_point started;  // when the current message was sent
    long round_trips = 0;       // completed, warm-up included
    std::uint64_t sequence = 0; // makes each message different from the last
};

std::string error_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

long positive(const char* text, const char* what)
{
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    if (end == text || *end != '\0' || value <= 0)
        bench::fail(std::string(what) + " must be a positive integer, not '" + text + "'");
    return value;
}

double positive_seconds(const char* text, const char* what)
{
    char* end = nullptr;
    const double value = std::strtod(text, &end);
    if (end == text || *end != '\0' || !(value >= 0))
        bench::fail(std::string(what) + " must be a number of seconds, not '" + text + "'");
    return value;
}

Fd connect_to(const addrinfo& address)
{
    Fd socket(::socket(address.ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (socket.get() < 0)
        bench::fail(error_text("socket"));
    if (::connect(socket.get(), address.ai_addr, address.ai_addrlen) != 0)
        bench::fail(error_text("connect"));
    // 64-byte messages, one in flight: without TCP_NODELAY a server's or our
    // small write may wait for Nagle's delayed ACK. Every server of the row
    // gets the same client socket, whatever it sets on its own side.
    const int one = 1;
    ::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::fcntl(socket.get(), F_SETFL, ::fcntl(socket.get(), F_GETFL) | O_NONBLOCK) != 0)
        bench::fail(error_text("fcntl"));
    return socket;
}

void send_message(Connection& connection)
{
    ++connection.sequence;
    // Different bytes in every message, so that an echo of an older message,
    // or of another connection's, fails the check.
    for (std::size_t i = 0; i < message_size; ++i)
        connection.sent[i] = static_cast<char>('a' + (connection.sequence * 7 + i) % 26);
    connection.have = 0;
    connection.started = Clock::now();
    // A 64-byte send on a socket with nothing else in flight always fits in
    // its buffer: a short write would mean something else is wrong.
    const ssize_t sent = ::send(connection.socket.get(), connection.sent.data(), message_size,
                                MSG_NOSIGNAL);
    if (sent != static_cast<ssize_t>(message_size))
        bench::fail(sent < 0 ? error_text("send") : "short send of " + std::to_string(sent));
}

double percentile(std::vector<std::int64_t>& values, double fraction)
{
    const auto index = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1));
    std::nth_element(values.begin(), values.begin() + static_cast<long>(index), values.end());
    return static_cast<double>(values[index]);
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 6) {
        std::fprintf(stderr, "usage: %s HOST PORT CONNECTIONS SECONDS WARMUP_SECONDS\n", argv[0]);
        return 2;
    }
    const char* host = argv[1];
    const char* port = argv[2];
    const long count = positive(argv[3], "CONNECTIONS");
    const double seconds = positive_seconds(argv[4], "SECONDS");
    const double warmup = positive_seconds(argv[5], "WARMUP_SECONDS");
    if (seconds <= 0)
        bench::fail("SECONDS must be more than 0");

    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (const int status = ::getaddrinfo(host, port, &hints, &found); status != 0)
        bench::fail(std::string("address ") + host + ":" + port + ": " + ::gai_strerror(status));
    std::vector<Connection> connections(static_cast<std::size_t>(count));
    for (auto& connection : connections)
        connection.socket = connect_to(*found);
    ::freeaddrinfo(found);

    Fd epoll(::epoll_create1(EPOLL_CLOEXEC));
    if (epoll.get() < 0)
        bench::fail(error_text("epoll_create1"));
    for (std::size_t i = 0; i < connections.size(); ++i) {
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u64 = i;
        if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, connections[i].socket.get(), &event) != 0)
            bench::fail(error_text("epoll_ctl"));
    }

    // The latencies of the measured window, in nanoseconds. Reserved for a
    // generous rate so that no reallocation lands in the window.
    std::vector<std::int64_t> latencies;
    latencies.reserve(static_cast<std::size_t>(seconds * 400'000));

    const auto began = Clock::now();
    const auto give_up = began + std::chrono::seconds(30);
    for (auto& connection : connections)
        send_message(connection);

    long warm = 0; // connections with at least one round trip done
    bool measuring = false;
    Clock::time_point window_start;
    Clock::time_point window_end;
    long measured = 0;
    std::vector<epoll_event> events(connections.size());
    while (true) {
        const int ready = ::epoll_wait(epoll.get(), events.data(), static_cast<int>(events.size()), 100);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            bench::fail(error_text("epoll_wait"));
        }
        const auto now = Clock::now();
        for (int e = 0; e < ready; ++e) {
            Connection& connection = connections[events[e].data.u64];
            const ssize_t got = ::recv(connection.socket.get(), connection.received.data() + connection.have,
                                       message_size - connection.have, 0);
            if (got == 0)
                bench::fail("the server closed a connection");
            if (got < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    continue;
                bench::fail(error_text("recv"));
            }
            connection.have += static_cast<std::size_t>(got);
            if (connection.have < message_size)
                continue;
            if (connection.received != connection.sent)
                bench::fail("an echo differs from the message sent");
            const auto done = Clock::now();
            if (connection.round_trips++ == 0)
                ++warm;
            if (measuring && done < window_end) {
                ++measured;
                latencies.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(done - connection.started).count());
            }
            send_message(connection);
        }
        if (!measuring) {
            if (warm == count && now - began >= std::chrono::duration<double>(warmup)) {
                measuring = true;
                window_start = Clock::now();
                window_end = window_start + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(seconds));
            } else if (now > give_up) {
                bench::fail(std::to_string(count - warm) + " of " + std::to_string(count) +
                            " connections made no round trip in 30 s");
            }
        } else if (now >= window_end) {
            break;
        }
    }
    if (measured == 0)
        bench::fail("no round trip in the measured window");
    std::printf("%.1f p50_us=%.1f p99_us=%.1f\n", static_cast<double>(measured) / seconds,
                percentile(latencies, 0.50) / 1000.0, percentile(latencies, 0.99) / 1000.0);
    return 0;
}
