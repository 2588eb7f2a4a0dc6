// The exercise of chapter 11: an edge-triggered readiness set.
//
// Everything runs on real sockets in this process: pairs of connected Unix
// stream sockets, and once a TCP connection on the loopback. A Unix socket
// pair is quiet: nothing happens on it but what the test does, so the
// kernel's edges can be counted. No test sleeps to let something settle.
// A wait that should succeed returns at once, and has `patience` (0.5 s)
// before the test calls it a failure; a wait that should time out gets
// `silence` (0.2 s). Every test case stops at its first failed REQUIRE, so
// the starter's failures end in seconds, not minutes.
#include <catch2/catch.hpp>

#include <edge_set.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

using exercise::EdgeSet;
using exercise::Readiness;
using namespace std::chrono_literals;

namespace {

/// How long a wait that should succeed may take before the test fails it.
constexpr auto patience = 500ms;
/// How long a wait that should time out is given.
constexpr auto silence = 200ms;

/// Owns a descriptor: closes it when it goes.
class Fd {
public:
    explicit Fd(int fd = -1) noexcept : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept
    {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    ~Fd() { reset(); }

    int get() const noexcept { return fd_; }

    void reset() noexcept
    {
        if (fd_ >= 0)
            ::close(std::exchange(fd_, -1));
    }

private:
    int fd_;
};

void check(bool ok, const char* what)
{
    if (!ok)
        throw std::system_error(errno, std::system_category(), what);
}

/// Two connected, non-blocking Unix stream sockets.
struct Pair {
    Fd near; ///< the one the set watches
    Fd far;  ///< the peer the test writes with, reads with, or closes
};

Pair socket_pair()
{
    int fds[2];
    check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0,
          "socketpair");
    return {Fd(fds[0]), Fd(fds[1])};
}

/// A TCP connection on the loopback, both ends non-blocking.
Pair tcp_pair()
{
    Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    check(listener.get() >= 0, "socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    auto* raw = reinterpret_cast<sockaddr*>(&address);
    socklen_t length = sizeof address;
    check(::bind(listener.get(), raw, sizeof address) == 0, "bind");
    check(::listen(listener.get(), 1) == 0, "listen");
    check(::getsockname(listener.get(), raw, &length) == 0, "getsockname");
    // Blocking until connected: the loopback answers at once, and the
    // backlog holds the connection until accept().
    Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    check(client.get() >= 0, "socket");
    check(::connect(client.get(), raw, sizeof address) == 0, "connect");
    Fd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    check(accepted.get() >= 0, "accept4");
    check(::fcntl(client.get(), F_SETFL, O_NONBLOCK) == 0, "fcntl");
    return {std::move(accepted), std::move(client)};
}

/// Writes all of `count` bytes; the socket buffers take them at once.
void send_bytes(int fd, std::size_t count)
{
    const std::vector<char> bytes(count, 'x');
    const ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    check(sent >= 0, "send");
    REQUIRE(static_cast<std::size_t>(sent) == count);
}

/// Reads at most `count` bytes, and says how many came.
std::size_t read_some(int fd, std::size_t count)
{
    std::vector<char> buffer(count);
    const ssize_t got = ::recv(fd, buffer.data(), buffer.size(), 0);
    check(got >= 0, "recv");
    return static_cast<std::size_t>(got);
}

struct Drained {
    std::size_t bytes = 0; ///< how many were read
    bool end = false;      ///< whether the stream ended (recv returned 0)
};

/// Reads until the socket says EAGAIN, or the stream ends: what a reader must
/// do before it waits again.
Drained read_until_eagain(int fd)
{
    Drained drained;
    std::array<char, 64 * 1024> buffer;
    for (;;) {
        const ssize_t got = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (got > 0) {
            drained.bytes += static_cast<std::size_t>(got);
            continue;
        }
        if (got == 0) {
            drained.end = true;
            return drained;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return drained;
        check(errno == EINTR, "recv");
    }
}

/// Writes until the send buffer is full (EAGAIN), and says how much it took.
std::size_t fill_send_buffer(int fd)
{
    const std::vector<char> bytes(64 * 1024, 'x');
    std::size_t total = 0;
    for (;;) {
        const ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (sent > 0) {
            total += static_cast<std::size_t>(sent);
            continue;
        }
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return total;
        check(sent >= 0 && errno == EINTR, "send");
    }
}

/// Bytes in `fd`'s receive buffer, not yet read.
int unread_bytes(int fd)
{
    int count = 0;
    check(::ioctl(fd, FIONREAD, &count) == 0, "ioctl(FIONREAD)");
    return count;
}

/// A timer descriptor that becomes readable once, `after` from now.
Fd one_shot_timer(std::chrono::milliseconds after)
{
    Fd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    check(timer.get() >= 0, "timerfd_create");
    itimerspec when{};
    when.it_value.tv_sec = static_cast<time_t>(after.count() / 1000);
    when.it_value.tv_nsec = static_cast<long>(after.count() % 1000) * 1'000'000;
    check(::timerfd_settime(timer.get(), 0, &when, nullptr) == 0, "timerfd_settime");
    return timer;
}

} // namespace

TEST_CASE("a thousand waits on one socket cost one registration", "[edge-set]")
{
    // The point of the chapter. Each round is what a green socket does: the
    // peer sends, the reader waits, reads until EAGAIN, and waits again. And
    // like a socket that does not keep track, it calls add() before every
    // wait: a descriptor already in the set must cost nothing.
    EdgeSet set;
    Pair pair = socket_pair();
    for (int round = 0; round < 1000; ++round) {
        set.add(pair.near.get());
        send_bytes(pair.far.get(), 1);
        REQUIRE(set.wait(pair.near.get(), Readiness::read, patience));
        const Drained drained = read_until_eagain(pair.near.get());
        REQUIRE(drained.bytes == 1);
        REQUIRE_FALSE(drained.end);
    }
    CHECK(set.registrations() == 1);
    // And one epoll_wait per wait: the only system call a wait should make.
    CHECK(set.waits_in_kernel() == 1000);
}

TEST_CASE("data that arrived before the first wait is not missed", "[edge-set]")
{
    EdgeSet set;
    Pair pair = socket_pair();
    send_bytes(pair.far.get(), 10);
    // The edge happened before the registration: the kernel looks at the
    // descriptor when it enters the set, and reports what it finds.
    set.add(pair.near.get());
    REQUIRE(set.wait(pair.near.get(), Readiness::read, patience));
    CHECK(read_until_eagain(pair.near.get()).bytes == 10);
}

TEST_CASE("an edge that nobody waited for is remembered", "[edge-set]")
{
    EdgeSet set;
    Pair a = socket_pair();
    Pair b = socket_pair();
    set.add(a.near.get());
    set.add(b.near.get());
    send_bytes(b.far.get(), 1);
    send_bytes(a.far.get(), 1);

    // One epoll_wait hands over every ready descriptor: a's edge, and b's,
    // and the room to write on both. The kernel will not report b again.
    REQUIRE(set.wait(a.near.get(), Readiness::read, patience));
    const std::size_t asked = set.waits_in_kernel();
    REQUIRE(asked == 1);

    // So b's wait must find the edge in the set, without asking the kernel;
    // and so must the waits for writing, the other direction.
    REQUIRE(set.wait(b.near.get(), Readiness::read, patience));
    CHECK(set.wait(a.near.get(), Readiness::write, patience));
    CHECK(set.wait(b.near.get(), Readiness::write, patience));
    CHECK(set.waits_in_kernel() == asked);
    CHECK(read_until_eagain(b.near.get()).bytes == 1);

    // A remembered edge is handed over once: nothing new came since.
    CHECK_FALSE(set.wait(b.near.get(), Readiness::read, silence));
}

TEST_CASE("the trap: a reader that waits before reading to EAGAIN sleeps with data unread",
          "[edge-set]")
{
    // Edge-triggered readiness reports a change, not a state. The 100 bytes
    // came in one edge, and that edge was reported once. A reader that takes
    // 10 of them and waits again is waiting for a change that will not
    // come: the other 90 sit in the buffer while it sleeps. (A level-
    // triggered set would report the descriptor again at once; the price of
    // that is the epoll_ctl per wait the chapter removed.)
    EdgeSet set;
    Pair pair = socket_pair();
    set.add(pair.near.get());
    send_bytes(pair.far.get(), 100);
    REQUIRE(set.wait(pair.near.get(), Readiness::read, patience));
    REQUIRE(read_some(pair.near.get(), 10) == 10);

    CHECK_FALSE(set.wait(pair.near.get(), Readiness::read, silence));
    CHECK(unread_bytes(pair.near.get()) == 90);

    // The rule that avoids the trap: read until EAGAIN, then wait. After
    // EAGAIN whatever comes is new, and new data is an edge.
    CHECK(read_until_eagain(pair.near.get()).bytes == 90);
    send_bytes(pair.far.get(), 1);
    CHECK(set.wait(pair.near.get(), Readiness::read, patience));
    CHECK(read_until_eagain(pair.near.get()).bytes == 1);
}

TEST_CASE("a full send buffer waits for the peer to read", "[edge-set]")
{
    EdgeSet set;
    Pair pair = socket_pair();
    set.add(pair.near.get());
    // Room to write is an edge too, there when the socket enters the set.
    REQUIRE(set.wait(pair.near.get(), Readiness::write, patience));

    const std::size_t sent = fill_send_buffer(pair.near.get());
    REQUIRE(sent > 0);
    CHECK_FALSE(set.wait(pair.near.get(), Readiness::write, silence));

    // The peer reads everything: room frees up, and that is a new edge.
    CHECK(read_until_eagain(pair.far.get()).bytes == sent);
    CHECK(set.wait(pair.near.get(), Readiness::write, patience));
}

TEST_CASE("the end of the peer's stream wakes a reader", "[edge-set]")
{
    EdgeSet set;
    SECTION("a Unix socket whose peer shuts down its writing")
    {
        Pair pair = socket_pair();
        set.add(pair.near.get());
        REQUIRE_FALSE(set.wait(pair.near.get(), Readiness::read, silence));
        check(::shutdown(pair.far.get(), SHUT_WR) == 0, "shutdown");
        REQUIRE(set.wait(pair.near.get(), Readiness::read, patience));
        CHECK(read_until_eagain(pair.near.get()).end);
        set.remove(pair.near.get());
    }
    SECTION("a Unix socket whose peer closes")
    {
        Pair pair = socket_pair();
        set.add(pair.near.get());
        REQUIRE_FALSE(set.wait(pair.near.get(), Readiness::read, silence));
        pair.far.reset();
        REQUIRE(set.wait(pair.near.get(), Readiness::read, patience));
        CHECK(read_until_eagain(pair.near.get()).end);
        set.remove(pair.near.get());
    }
    SECTION("a TCP connection whose peer shuts down its writing")
    {
        Pair pair = tcp_pair();
        set.add(pair.near.get());
        REQUIRE_FALSE(set.wait(pair.near.get(), Readiness::read, silence));
        check(::shutdown(pair.far.get(), SHUT_WR) == 0, "shutdown");
        REQUIRE(set.wait(pair.near.get(), Readiness::read, patience));
        CHECK(read_until_eagain(pair.near.get()).end);
        set.remove(pair.near.get());
    }
}

TEST_CASE("a number reused after remove() is a new descriptor, without the old edges",
          "[edge-set]")
{
    EdgeSet set;
    Pair old = socket_pair();
    Pair other = socket_pair();
    set.add(old.near.get());
    set.add(other.near.get());
    // Old gets a read edge and a write edge, which a wait on other hands over
    // and the set remembers for old.
    send_bytes(old.far.get(), 1);
    REQUIRE(set.wait(other.near.get(), Readiness::write, patience));

    const int number = old.near.get();
    set.remove(number);
    set.remove(number); // twice, or never added: nothing happens
    old.near.reset();
    // The kernel hands out the lowest free number: the one just closed.
    Pair reused = socket_pair();
    REQUIRE(reused.near.get() == number);

    // Forgotten, so a real registration; and nothing of the old socket's.
    set.add(number);
    CHECK(set.registrations() == 3);
    CHECK_FALSE(set.wait(number, Readiness::read, silence));
    send_bytes(reused.far.get(), 1);
    CHECK(set.wait(number, Readiness::read, patience));
    CHECK(read_until_eagain(number).bytes == 1);
}

TEST_CASE("other descriptors' edges neither cut a wait short nor stretch it", "[edge-set]")
{
    // While the set waits 400 ms on a quiet socket, timers fire every 50 ms
    // until 350 ms, each an edge for a descriptor of its own, and each ends an
    // epoll_wait early. The wait must go on until 400 ms have passed, and
    // then stop: each epoll_wait is given the time left. Given the whole
    // timeout again, the last one would end 400 ms after the last timer.
    EdgeSet set;
    Pair pair = socket_pair();
    set.add(pair.near.get());
    REQUIRE(set.wait(pair.near.get(), Readiness::write, patience)); // the fresh socket's room
    std::vector<Fd> timers;
    for (int i = 1; i <= 7; ++i) {
        timers.push_back(one_shot_timer(i * 50ms));
        set.add(timers.back().get());
    }

    const auto start = std::chrono::steady_clock::now();
    const bool ready = set.wait(pair.near.get(), Readiness::read, 400ms);
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK_FALSE(ready);
    CHECK(took >= 400ms);
    CHECK(took < 700ms);
}

TEST_CASE("a zero timeout looks without waiting, past a full batch", "[edge-set]")
{
    // Seventy fresh sockets enter the set before ours, each with room to
    // write: the kernel queues their edges first, and one epoll_wait hands
    // over at most the batch the set gives it room for. Ours is ready too,
    // so even a wait that may not wait must find it.
    EdgeSet set;
    std::vector<Pair> others;
    for (int i = 0; i < 70; ++i) {
        others.push_back(socket_pair());
        set.add(others.back().near.get());
    }
    Pair pair = socket_pair();
    set.add(pair.near.get());
    CHECK(set.wait(pair.near.get(), Readiness::write, 0ms));
    // And a zero timeout with nothing to find answers false.
    CHECK_FALSE(set.wait(pair.near.get(), Readiness::read, 0ms));
}

TEST_CASE("misuse is reported", "[edge-set]")
{
    EdgeSet set;
    SECTION("a wait on a descriptor not in the set is a bug of the caller")
    {
        Pair pair = socket_pair();
        CHECK_THROWS_AS(set.wait(pair.near.get(), Readiness::read, silence), std::logic_error);
        CHECK(set.waits_in_kernel() == 0);
    }
    SECTION("no descriptor")
    {
        try {
            set.add(-1);
            FAIL("add(-1) returned");
        } catch (const std::system_error& error) {
            CHECK(error.code() == std::errc::bad_file_descriptor);
            CHECK(std::string(error.what()).find("descriptor -1") != std::string::npos);
        }
        // Nothing was kept of it.
        CHECK_THROWS_AS(set.wait(-1, Readiness::read, silence), std::logic_error);
        CHECK(set.registrations() == 0);
    }
    SECTION("a closed descriptor")
    {
        Pair pair = socket_pair();
        const int number = pair.near.get();
        pair.near.reset();
        try {
            set.add(number);
            FAIL("add() of a closed descriptor returned");
        } catch (const std::system_error& error) {
            CHECK(error.code() == std::errc::bad_file_descriptor);
            CHECK(std::string(error.what()).find("descriptor " + std::to_string(number)) !=
                  std::string::npos);
        }
        CHECK_THROWS_AS(set.wait(number, Readiness::read, silence), std::logic_error);
    }
    SECTION("a regular file, which is always ready and which epoll refuses")
    {
        const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::tmpfile(), &std::fclose);
        REQUIRE(file != nullptr);
        const int number = ::fileno(file.get());
        try {
            set.add(number);
            FAIL("add() of a regular file returned");
        } catch (const std::system_error& error) {
            CHECK(error.code() == std::errc::operation_not_permitted);
            CHECK(std::string(error.what()).find("descriptor " + std::to_string(number)) !=
                  std::string::npos);
        }
        CHECK(set.registrations() == 0);
    }
}
