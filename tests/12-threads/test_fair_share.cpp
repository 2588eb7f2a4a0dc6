// Chapter 12: a green thread whose socket is always ready never parks; after
// its fair share of bytes it still gives the hub's other green threads a turn.
#include <catch2/catch.hpp>

#include <eventlet/errors.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <string>
#include <vector>

#include "../support/net_helpers.hpp"

using eventlet::GreenSocket;
using test_support::connect_pair;

namespace {

constexpr std::size_t share = GreenSocket::fair_share_bytes;
constexpr std::size_t chunk = 4096;
static_assert(share % chunk == 0);

// The byte at `offset` of the stream the tests send: a pattern that shows a
// byte lost or repeated.
char pattern_at(std::size_t offset) { return static_cast<char>(offset % 251); }

// Bigger kernel buffers on both ends, so that the tests can queue several
// fair shares before anyone reads.
void widen_buffers(test_support::Connection& pair)
{
    pair.client.set_option(SOL_SOCKET, SO_SNDBUF, 1 << 20);
    pair.server.set_option(SOL_SOCKET, SO_RCVBUF, 1 << 20);
}

// Sends the pattern from the client's socket, by plain non-blocking send()
// calls (no green socket, so no yield), until the kernel takes no more.
// \returns the bytes queued.
std::size_t fill_from_client(test_support::Connection& pair)
{
    std::size_t queued = 0;
    std::vector<char> block(chunk);
    for (;;) {
        for (std::size_t i = 0; i < chunk; ++i)
            block[i] = pattern_at(queued + i);
        const ssize_t n = ::send(pair.client.fd(), block.data(), block.size(), MSG_NOSIGNAL);
        if (n < 0) {
            REQUIRE((errno == EAGAIN || errno == EWOULDBLOCK));
            return queued;
        }
        queued += static_cast<std::size_t>(n);
    }
}

// One recv() into `buffer`, whose bytes must be the pattern's from `offset`
// on (else `mismatch` names the first that is not). \returns the bytes read.
std::size_t receive_checked(GreenSocket& socket, std::vector<char>& buffer, std::size_t offset,
                            std::string& mismatch)
{
    const std::size_t n = socket.recv(std::span<char>(buffer));
    REQUIRE(n > 0);
    for (std::size_t i = 0; i < n && mismatch.empty(); ++i)
        if (buffer[i] != pattern_at(offset + i))
            mismatch = "byte " + std::to_string(offset + i);
    return n;
}

// A green thread that notes `progress` each time it gets a turn, until
// `done` is set.
eventlet::GreenThread<std::vector<std::size_t>> spawn_observer(const std::size_t& progress,
                                                               const bool& done)
{
    return eventlet::spawn([&progress, &done] {
        std::vector<std::size_t> seen;
        while (!done) {
            seen.push_back(progress);
            eventlet::sleep(0);
        }
        return seen;
    });
}

// The largest step `progress` made between two turns of the observer.
std::size_t largest_step(const std::vector<std::size_t>& seen, std::size_t last)
{
    std::size_t largest = 0;
    std::size_t before = 0;
    for (const std::size_t now : seen) {
        largest = std::max(largest, now - before);
        before = now;
    }
    return std::max(largest, last - before);
}

} // namespace

TEST_CASE("a reader that always finds data lets other green threads run every fair share",
          "[socket][fair-share]")
{
    auto pair = connect_pair();
    widen_buffers(pair);
    const std::size_t queued = fill_from_client(pair);
    REQUIRE(queued >= 4 * share);

    std::size_t received = 0;
    bool done = false;
    auto observer = spawn_observer(received, done);
    eventlet::sleep(0); // the observer notes 0 and waits for its next turn
    std::vector<char> buffer(chunk);
    std::string mismatch;
    while (received < queued)
        received += receive_checked(pair.server, buffer, received, mismatch);
    done = true;
    const std::vector<std::size_t> seen = observer.wait();
    CHECK(mismatch.empty());
    // The reader never parked (everything was queued), and still the
    // observer ran between its fair shares.
    CHECK(seen.size() >= queued / (share + chunk));
    CHECK(largest_step(seen, received) <= share + chunk);
}

TEST_CASE("a sender that always finds room lets other green threads run every fair share",
          "[socket][fair-share]")
{
    // How much the kernel queues on a connection nobody reads, measured on a
    // pair of its own; this pair then sends half as much, so it never parks.
    auto probe = connect_pair();
    widen_buffers(probe);
    const std::size_t room = fill_from_client(probe);
    const std::size_t to_send = room / 2;
    REQUIRE(to_send >= 3 * share);

    auto pair = connect_pair();
    widen_buffers(pair);
    std::size_t sent = 0;
    bool done = false;
    auto observer = spawn_observer(sent, done);
    eventlet::sleep(0);
    const std::string piece(1024, 'x');
    while (sent < to_send)
        sent += pair.client.send(piece);
    done = true;
    const std::vector<std::size_t> seen = observer.wait();
    CHECK(seen.size() >= to_send / (share + piece.size()));
    CHECK(largest_step(seen, sent) <= share + piece.size());
}

TEST_CASE("a timeout that fires while a reader yields costs it no byte", "[socket][fair-share]")
{
    auto pair = connect_pair();
    widen_buffers(pair);
    const std::size_t queued = fill_from_client(pair);
    REQUIRE(queued >= 2 * share);

    std::vector<char> buffer(chunk); // a share is a whole number of chunks
    std::size_t received = 0;
    std::string mismatch;
    while (received < share)
        received += receive_checked(pair.server, buffer, received, mismatch);
    REQUIRE(received == share);

    // The next recv() yields before it reads; a timeout due at the next turn
    // fires during that yield.
    bool timed_out = false;
    try {
        const eventlet::Timeout timeout(eventlet::Seconds(0));
        received += receive_checked(pair.server, buffer, received, mismatch);
    } catch (const eventlet::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    while (received < queued)
        received += receive_checked(pair.server, buffer, received, mismatch);
    CHECK(mismatch.empty());
    CHECK(received == queued);
}
