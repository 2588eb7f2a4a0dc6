// The hub keeps its watches in a table indexed by descriptor number (lib's
// src/fd_table.hpp): a wait on a high number grows it, under the watches
// of green threads parked on lower ones and of those still to wake in the
// same turn; a number closed and handed out again gets a watch with nothing
// of the old one's; a number no descriptor has grows nothing. Each test runs
// on an OS thread of its own, so that its hub's table starts empty: the
// test thread's hub keeps what earlier tests grew it to.
#include <catch2/catch.hpp>

#include <eventlet/errors.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "../support/net_helpers.hpp"

using eventlet::Hub;
using eventlet::Readiness;

namespace {

// Runs `body` on a new OS thread, with a hub of its own, and rethrows here
// whatever it threw (a failed REQUIRE among them).
template <class Body>
void on_fresh_hub(Body body)
{
    std::exception_ptr failure;
    std::thread([&] {
        try {
            body();
        } catch (...) {
            failure = std::current_exception();
        }
    }).join();
    if (failure)
        std::rethrow_exception(failure);
}

// A number well beyond those the process has open, and beyond the table's
// first size (64 slots), under the process's descriptor limit.
int high_number()
{
    rlimit limit{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
    const rlim_t number = std::min<rlim_t>(900, limit.rlim_cur - 32);
    REQUIRE(number > 256);
    return static_cast<int>(number);
}

// The lowest number from `from` up that no descriptor has.
int unused_number_from(int from)
{
    for (int number = from; number < std::numeric_limits<int>::max(); ++number) {
        if (::fcntl(number, F_GETFD) < 0 && errno == EBADF)
            return number;
    }
    FAIL("every descriptor number from " << from << " is taken");
    return -1;
}

// `socket`'s connection on descriptor `number`, which no descriptor has;
// the socket's own descriptor is closed.
eventlet::GreenSocket moved_to_number(eventlet::GreenSocket socket, int number)
{
    REQUIRE(::dup3(socket.fd(), number, O_CLOEXEC) == number);
    socket.close();
    return eventlet::GreenSocket::adopt(number);
}

// test_support::reader_of(), parked on readiness (trampoline()) before it
// receives: while it waits, the hub takes notes of every descriptor's
// readiness. (A recv() parked on a read in the hub's ring needs no notes,
// and the hub takes none.)
eventlet::GreenThread<std::string> readiness_reader_of(eventlet::GreenSocket& socket)
{
    return eventlet::spawn([&socket]() -> std::string {
        eventlet::trampoline(socket.fd(), Readiness::read);
        return socket.recv(std::size_t{64});
    });
}

// The error of a wait on `number`, or a null code if the wait returned.
std::error_code error_of_wait_on(int number)
{
    try {
        eventlet::trampoline(number, Readiness::read, 1);
    } catch (const std::system_error& error) {
        CHECK_THAT(error.what(),
                   Catch::Contains("cannot wait on descriptor " + std::to_string(number)));
        return error.code();
    }
    return {};
}

} // namespace

TEST_CASE("a socket on a high number wakes its waiter, and waits parked on low numbers go on",
          "[fd_table]")
{
    on_fresh_hub([] {
        eventlet::Timeout bound(5);
        auto low = test_support::connect_pair();
        auto low_reader = test_support::reader_of(low.server);
        eventlet::sleep(0); // it parks on a low number, in a small table
        REQUIRE(Hub::current().waited_on(low.server.fd()));

        auto pair = test_support::connect_pair();
        const int number = unused_number_from(high_number());
        auto high = moved_to_number(std::move(pair.server), number);
        auto high_reader = test_support::reader_of(high);
        eventlet::sleep(0); // it parks on the high number: the table grows
        CHECK(Hub::current().waited_on(number));
        CHECK(Hub::current().waited_on(low.server.fd()));
        pair.client.sendall(std::string_view("high"));
        CHECK(high_reader.wait() == "high");
        low.client.sendall(std::string_view("low"));
        CHECK(low_reader.wait() == "low");

        auto closed_reader = test_support::reader_of(high);
        eventlet::sleep(0); // it parks on the high number again
        high.close();
        CHECK(closed_reader.wait() == "IOClosed");
        CHECK_FALSE(Hub::current().waited_on(number));
    });
}

TEST_CASE("a number closed and handed out again gets a watch with nothing of the old one's",
          "[fd_table]")
{
    on_fresh_hub([] {
        eventlet::Timeout bound(5);
        // A green thread parked meanwhile, so that the hub takes notes of
        // readiness (take_readiness() tells them only then).
        auto other = test_support::connect_pair();
        auto keeper = readiness_reader_of(other.server);
        eventlet::sleep(0);

        const int number = unused_number_from(high_number());
        auto old_pair = test_support::connect_pair();
        auto old = moved_to_number(std::move(old_pair.server), number);
        old_pair.client.close();
        // Registered until closed, as a GreenSocket's waits are: the hub
        // notes the end of the stream, and every read returns at once.
        eventlet::trampoline(number, Readiness::read, 5, eventlet::Registration::until_close);
        REQUIRE(Hub::current().take_readiness(number, Readiness::read));
        old.close();

        auto new_pair = test_support::connect_pair();
        auto reused = moved_to_number(std::move(new_pair.server), number);
        eventlet::trampoline(number, Readiness::write, 5, eventlet::Registration::until_close);
        CHECK_FALSE(Hub::current().take_readiness(number, Readiness::read));
        new_pair.client.sendall(std::string_view("new"));
        CHECK(reused.recv(std::size_t{16}) == "new");

        other.client.sendall(std::string_view("done"));
        CHECK(keeper.wait() == "done");
    });
}

TEST_CASE("a wait on a number no descriptor has fails at once, however high the number",
          "[fd_table]")
{
    on_fresh_hub([] {
        Hub& hub = Hub::current();
        for (const int number : {unused_number_from(high_number()), 1 << 24,
                                 std::numeric_limits<int>::max()}) {
            CAPTURE(number);
            // Not std::bad_alloc, nor the end of the process: the table does
            // not grow to a number before the kernel has said it is one.
            CHECK(error_of_wait_on(number) == std::errc::bad_file_descriptor);
            CHECK_FALSE(hub.waited_on(number));
            CHECK(hub.take_readiness(number, Readiness::read)); // the hub cannot tell
            hub.notify_close(number);
            hub.notify_opened(number);
        }
        for (const int number : {-1, std::numeric_limits<int>::min()}) {
            CAPTURE(number);
            CHECK_THROWS_AS(eventlet::trampoline(number, Readiness::read, 1), std::invalid_argument);
            CHECK_FALSE(hub.waited_on(number));
            CHECK(hub.take_readiness(number, Readiness::write));
            hub.notify_close(number);
            hub.notify_opened(number);
        }
    });
}

TEST_CASE("hundreds of sockets wait at once, each woken by its own data or its close, and their "
          "numbers serve again",
          "[fd_table]")
{
    on_fresh_hub([] {
        eventlet::Timeout bound(10);
        constexpr int count = 300;
        auto listener = eventlet::listen({"127.0.0.1", 0});
        // The second round's sockets get the first round's numbers, the
        // kernel's lowest free ones.
        for (int round = 0; round < 2; ++round) {
            CAPTURE(round);
            std::vector<eventlet::GreenSocket> clients;
            std::vector<eventlet::GreenSocket> servers;
            for (int i = 0; i < count; ++i) {
                clients.push_back(eventlet::connect(listener.local_address(), 5));
                servers.push_back(listener.accept().socket);
            }
            std::vector<eventlet::GreenThread<std::string>> readers;
            for (auto& server : servers)
                readers.push_back(test_support::reader_of(server));
            eventlet::sleep(0); // every reader parks
            for (const auto& server : servers)
                REQUIRE(Hub::current().waited_on(server.fd()));
            const auto expected = [round](int i) {
                return i % 3 == 0 ? std::string("IOClosed")
                                  : std::to_string(round) + ":" + std::to_string(i);
            };
            // From the last number to the first, the table's order reversed.
            for (int i = count - 1; i >= 0; --i) {
                if (i % 3 == 0)
                    servers[i].close();
                else
                    clients[i].sendall(expected(i));
            }
            for (int i = 0; i < count; ++i) {
                CAPTURE(i);
                CHECK(readers[i].wait() == expected(i));
            }
        }
    });
}

TEST_CASE("waiters woken in one turn that grow the table as they go on still wake, each of them",
          "[fd_table]")
{
    on_fresh_hub([] {
        eventlet::Timeout bound(5);
        constexpr std::size_t count = 4;
        std::vector<test_support::Connection> woken;
        std::vector<test_support::Connection> moved;
        for (std::size_t i = 0; i < count; ++i) {
            woken.push_back(test_support::connect_pair());
            moved.push_back(test_support::connect_pair());
        }
        // Each number at least twice the last: each woken waiter grows the table.
        std::vector<int> numbers{unused_number_from(high_number() / 8)};
        while (numbers.size() < count)
            numbers.push_back(unused_number_from(2 * numbers.back()));
        std::vector<eventlet::GreenThread<std::string>> readers;
        for (std::size_t i = 0; i < count; ++i) {
            readers.push_back(eventlet::spawn([&, i] {
                std::string got = woken[i].server.recv(std::size_t{16});
                auto high = moved_to_number(std::move(moved[i].server), numbers[i]);
                // Parks: the hub goes on with the wake-ups of this turn.
                eventlet::trampoline(numbers[i], Readiness::write, 5);
                return got;
            }));
        }
        eventlet::sleep(0); // every reader parks
        // All ready before the hub looks, to be harvested in one turn.
        for (std::size_t i = 0; i < count; ++i)
            woken[i].client.sendall("data " + std::to_string(i));
        for (std::size_t i = 0; i < count; ++i)
            CHECK(readers[i].wait() == "data " + std::to_string(i));
    });
}
