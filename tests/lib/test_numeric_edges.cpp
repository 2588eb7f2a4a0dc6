// Numbers at the edges of what the API takes: sizes within a page of
// SIZE_MAX, NaN in a chrono duration, a count at INT_MAX, buffers asked for
// by the gigabyte, a limit of zero. Each gets a clear error or a sensible
// result, never a crash, a wrapped value or gigabytes written for nothing.
#include <catch2/catch.hpp>

#include <eventlet/buffered_reader.hpp>
#include <eventlet/debug.hpp>
#include <eventlet/greenpile.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/semaphore.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/stack.hpp>
#include <eventlet/wsgi/server.hpp>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "../09-dispatch/wsgi_support.hpp"
#include "../support/child_process.hpp"

TEST_CASE("a stack size within a page of SIZE_MAX is refused, not rounded up to nothing", "[stack][limits]")
{
    for (const std::size_t size : {SIZE_MAX, SIZE_MAX - 100, SIZE_MAX - 4094})
        CHECK_THROWS_AS(eventlet::Stack(size), eventlet::StackAllocationError);
}

TEST_CASE("a chrono duration of NaN is refused as a number of seconds is", "[seconds][limits]")
{
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_AS(eventlet::Seconds(std::chrono::duration<double>(nan)), std::invalid_argument);
    CHECK_THROWS_AS(eventlet::Seconds(std::chrono::duration<float, std::milli>(nan)), std::invalid_argument);
    CHECK(eventlet::Seconds(std::chrono::milliseconds(1500)).count() == 1.5);
}

TEST_CASE("a negative pool size is refused, not taken for SIZE_MAX slots", "[greenpool][limits]")
{
    CHECK_THROWS_WITH(eventlet::GreenPool(-1), Catch::Contains("cannot be negative: -1"));
    CHECK_THROWS_AS(eventlet::GreenPile<int>(-5), std::invalid_argument);
    eventlet::GreenPool pool(4);
    CHECK_THROWS_AS(pool.resize(-1), std::invalid_argument);
    CHECK(pool.size() == 4);
    pool.resize(2);
    CHECK(pool.size() == 2);
    CHECK_THROWS_AS(eventlet::GreenPool(0), std::invalid_argument);
    CHECK(eventlet::GreenPool(std::size_t{3}).size() == 3);
}

TEST_CASE("a semaphore at INT_MAX permits refuses one more release, and stays usable", "[semaphore][limits]")
{
    eventlet::Semaphore semaphore(INT_MAX);
    CHECK_THROWS_AS(semaphore.release(), std::overflow_error);
    CHECK(semaphore.counter() == INT_MAX);
    CHECK(semaphore.acquire(0));
    semaphore.release();
    CHECK(semaphore.counter() == INT_MAX);
}

TEST_CASE("recv() of a string asked for gigabytes returns what came, in a string of its size", "[socket][limits]")
{
    auto listener = eventlet::listen({"127.0.0.1", 0});
    auto client = eventlet::connect(listener.local_address());
    auto server = listener.accept().socket;
    server.sendall(std::string_view("hi"));
    const std::string got = client.recv(std::size_t{2'000'000'000});
    CHECK(got == "hi");
    CHECK(got.capacity() < 1024);
    server.sendall(std::string(100'000, 'x'));
    std::string more = client.recv(SIZE_MAX);
    CHECK(!more.empty());
    CHECK(more.size() <= eventlet::GreenSocket::max_string_recv);
}

TEST_CASE("a BufferedReader of a huge chunk size asks its source for at most max_chunk_size", "[buffered_reader][limits]")
{
    std::size_t largest_ask = 0;
    std::string stream = "one\ntwo\n";
    eventlet::BufferedReader reader(
        [&](std::span<char> out) {
            largest_ask = std::max(largest_ask, out.size());
            const std::size_t n = std::min(out.size(), stream.size());
            stream.copy(out.data(), n);
            stream.erase(0, n);
            return n;
        },
        std::size_t{500'000'000});
    CHECK(reader.readline() == "one\n");
    CHECK(reader.readline() == "two\n");
    CHECK(largest_ask == eventlet::BufferedReader::max_chunk_size);
}

TEST_CASE("a green thread still waiting to start when its OS thread exits is destroyed with the hub",
          "[greenthread][limits]")
{
    auto capture = std::make_shared<int>(0);
    const std::weak_ptr<int> watch = capture;
    std::thread([capture = std::move(capture)]() mutable {
        eventlet::spawn_after(1e300, [held = std::move(capture)] { return *held; });
        eventlet::spawn_n([] {}); // a hub turn, so that the hub exists and has run
        eventlet::sleep(0);
    }).join();
    CHECK(watch.expired());
}

TEST_CASE("a send_timeout of zero still sends what the socket takes at once", "[wsgi][limits]")
{
    wsgi_test::TestServer server(
        [](eventlet::wsgi::Request&, eventlet::wsgi::StartResponse& start_response) -> eventlet::wsgi::Body {
            start_response("200 OK", {{"Content-Type", "text/plain"}});
            return std::string("hello");
        },
        [](eventlet::wsgi::ServerOptions& options) { options.send_timeout = 0; });
    wsgi_test::RawClient client(server.address());
    client.send(wsgi_test::get("/"));
    const wsgi_test::Response response = client.response();
    CHECK(response.status == 200);
    CHECK(response.body == "hello");
}

TEST_CASE("error messages write a tiny span of time as it is, not as 0.000000", "[debug][limits]")
{
    CHECK_THROWS_WITH(eventlet::debug::hub_blocking_detection(true, -1e-9),
                      Catch::Contains("not -1e-09 s"));
}

TEST_CASE("a socket's timeout names the call that timed out", "[socket][limits]")
{
    auto listener = eventlet::listen({"127.0.0.1", 0});
    auto client = eventlet::connect(listener.local_address());
    client.set_timeout(0.01);
    CHECK_THROWS_WITH(client.recv(std::size_t{10}),
                      Catch::StartsWith("recv on socket ") && Catch::EndsWith("timed out after 0.01 s"));
}

#if !defined(__SANITIZE_ADDRESS__) // ASan's shadow memory does not live under a small RLIMIT_AS
TEST_CASE("stacks refused by a limit on the address space name that limit", "[stack][limits]")
{
    const auto result = test_support::run_in_child([] {
        const rlimit limit{256 << 20, 256 << 20};
        ::setrlimit(RLIMIT_AS, &limit);
        std::vector<eventlet::Stack> stacks;
        try {
            for (;;)
                stacks.emplace_back(std::size_t{16} << 20);
        } catch (const eventlet::StackAllocationError& e) {
            std::fprintf(stderr, "%s\n", e.what());
            ::_exit(0);
        }
    });
    INFO(result.stderr_text);
    CHECK(result.exit_code() == 0);
    CHECK_THAT(result.stderr_text, Catch::Contains("ulimit -v"));
}
#endif
