// Reads through the hub's ring (io_uring): the kernel copies into the
// reader's buffer, on its stack, whenever the bytes come, so whatever ends
// a read early (a kill, a Timeout, a close, fork()) must end it in the
// kernel first, and lose no byte. Every case holds the readiness way too:
// make test runs lib's tests a second time with EVENTLET_HUB=epoll.
#include <catch2/catch.hpp>

#include <eventlet/errors.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <liburing.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../support/net_helpers.hpp"

namespace {

// A fresh connection, and a green thread parked in recv() on its server end
// (test_support::reader_of()).
struct ParkedReader {
    test_support::Connection pair = test_support::connect_pair();
    eventlet::GreenThread<std::string> reader = test_support::reader_of(pair.server);
    ParkedReader() { eventlet::sleep(0); } // the reader runs, and parks
};

// The io_uring instances this process has open.
int rings_open()
{
    int rings = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code error;
        if (std::filesystem::read_symlink(entry.path(), error).string() == "anon_inode:[io_uring]")
            ++rings;
    }
    return rings;
}

// Would the kernel give this process a ring made as the hub makes its own?
bool kernel_offers_rings()
{
    io_uring ring{};
    io_uring_params params{};
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
    if (::io_uring_queue_init_params(8, &ring, &params) != 0)
        return false;
    ::io_uring_queue_exit(&ring);
    return true;
}

bool readiness_way_asked()
{
    const char* hub = std::getenv("EVENTLET_HUB");
    return hub != nullptr && std::string_view(hub) == "epoll";
}

} // namespace

TEST_CASE("a read that has to wait goes through the hub's ring where the kernel offers one, and "
          "never with EVENTLET_HUB=epoll",
          "[ring][socket]")
{
    eventlet::Timeout bound(5);
    ParkedReader parked;
    auto& [pair, reader] = parked;
    if (readiness_way_asked())
        CHECK(rings_open() == 0);
    else if (kernel_offers_rings())
        CHECK(rings_open() >= 1);
    else
        WARN("this kernel refuses io_uring (or its flags): reads go the readiness way");
    pair.client.sendall(std::string_view("here"));
    CHECK(reader.wait() == "here");
}

TEST_CASE("a read killed after its bytes came leaves them to the next read", "[ring][socket]")
{
    eventlet::Timeout bound(5);
    auto first = test_support::connect_pair();
    auto second = test_support::connect_pair();
    // A short read first, which waited (through the ring, if any): the
    // socket knows the kernel had no more, and its next recv() waits at
    // once, without asking.
    auto first_short = test_support::reader_of(first.server);
    auto second_short = test_support::reader_of(second.server);
    eventlet::sleep(0); // both parked in recv
    first.client.sendall(std::string_view("0"));
    second.client.sendall(std::string_view("0"));
    REQUIRE(first_short.wait() == "0");
    REQUIRE(second_short.wait() == "0");
    first.client.sendall(std::string_view("first"));
    second.client.sendall(std::string_view("second"));
    // Through the ring both reads complete in the same turn, in the order
    // they were queued: the killer runs first, while the victim's bytes are
    // in the victim's buffer already. (The readiness way, both read at
    // once, and the kill finds the victim done.)
    std::optional<eventlet::GreenThread<std::string>> victim;
    auto killer = eventlet::spawn([&] {
        std::string got = first.server.recv(std::size_t{64});
        victim->kill();
        return got;
    });
    victim = test_support::reader_of(second.server);
    CHECK(killer.wait() == "first");
    std::string victims_bytes;
    try {
        victims_bytes = victim->wait();
    } catch (const eventlet::GreenletExit&) {
        victims_bytes = second.server.recv(std::size_t{64});
    }
    CHECK(victims_bytes == "second");
}

TEST_CASE("a read ended by a Timeout, or by the socket's timeout, leaves the bytes that come "
          "later to the next read",
          "[ring][socket]")
{
    eventlet::Timeout bound(5);
    auto pair = test_support::connect_pair();
    SECTION("a Timeout")
    {
        eventlet::Timeout short_one(0.02);
        CHECK_THROWS_AS(pair.server.recv(std::size_t{64}), eventlet::TimeoutError);
    }
    SECTION("the socket's timeout, named in the error")
    {
        pair.server.set_timeout(0.02);
        CHECK_THROWS_WITH(pair.server.recv(std::size_t{64}),
                          Catch::Contains("recv on socket") && Catch::Contains("timed out after 0.02 s"));
        pair.server.set_timeout(std::nullopt);
    }
    pair.client.sendall(std::string_view("later"));
    CHECK(pair.server.recv(std::size_t{64}) == "later");
}

TEST_CASE("a socket closed while a green thread reads it: IOClosed for the reader, and the peer "
          "sees the end of the stream without waiting for the reader to run",
          "[ring][socket]")
{
    eventlet::Timeout bound(5);
    ParkedReader parked;
    auto& [pair, reader] = parked;
    pair.server.close();
    // No turn of the hub between the close and this look: the close alone
    // ends the stream, whatever the reader's read was doing in the kernel.
    pollfd peer{pair.client.fd(), POLLIN, 0};
    REQUIRE(::poll(&peer, 1, 3000) == 1);
    CHECK(pair.client.recv(std::size_t{64}).empty());
    CHECK(reader.wait() == "IOClosed");
}

TEST_CASE("more green threads wait to read at once than the ring's queue holds: each gets its "
          "own bytes",
          "[ring][socket]")
{
    eventlet::Timeout bound(10);
    constexpr int count = 300; // the ring's queue has 256 entries
    std::vector<test_support::Connection> pairs;
    pairs.reserve(count);
    for (int i = 0; i < count; ++i)
        pairs.push_back(test_support::connect_pair());
    std::vector<eventlet::GreenThread<std::string>> readers;
    readers.reserve(count);
    for (auto& pair : pairs)
        readers.push_back(test_support::reader_of(pair.server));
    eventlet::sleep(0); // all of them park in the same turn
    for (int i = 0; i < count; ++i)
        pairs[static_cast<std::size_t>(i)].client.sendall("reader " + std::to_string(i));
    int right = 0;
    for (int i = 0; i < count; ++i)
        right += readers[static_cast<std::size_t>(i)].wait() == "reader " + std::to_string(i) ? 1 : 0;
    CHECK(right == count);
}

TEST_CASE("a read waiting when the process forks goes on in the child, which gets the bytes",
          "[ring][fork]")
{
    ParkedReader parked;
    auto& [pair, reader] = parked;
    int go[2];
    REQUIRE(::pipe(go) == 0);
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        int code = 1;
        try {
            eventlet::Timeout bound(5);
            // Once the parent's own read has ended, so that only the
            // child's can take the bytes.
            eventlet::trampoline(go[0], eventlet::Readiness::read);
            pair.client.sendall(std::string_view("to the child"));
            code = reader.wait() == "to the child" ? 0 : 2;
        } catch (...) {
        }
        ::_exit(code);
    }
    REQUIRE(pid > 0);
    reader.kill();
    REQUIRE(::write(go[1], "g", 1) == 1);
    // The child's end, waited for on the hub with a bound.
    const int child = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    REQUIRE(child >= 0);
    bool ended = true;
    try {
        eventlet::trampoline(child, eventlet::Readiness::read, 10);
    } catch (const eventlet::IOTimeout&) {
        ended = false;
        ::kill(pid, SIGKILL);
    }
    eventlet::notify_close(child);
    ::close(child);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(go[0]);
    ::close(go[1]);
    CHECK(ended);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
