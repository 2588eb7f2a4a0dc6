// Chapter 3: Timeout.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/queue.hpp>
#include <eventlet/timeout.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>

#include "../support/hub_helpers.hpp"

using namespace std::chrono_literals;
using eventlet::Timeout;
using eventlet::TimeoutError;

TEST_CASE("a Timeout raises TimeoutError at the blocking point when the scope runs late",
          "[timeout]")
{
    const auto before = std::chrono::steady_clock::now();
    Timeout limit(20ms);
    CHECK_THROWS_AS(eventlet::sleep(3600), TimeoutError);
    CHECK(limit.expired());
    CHECK(std::chrono::steady_clock::now() - before >= 20ms);
}

TEST_CASE("a Timeout that expired while the green thread computed is raised at its very next "
          "blocking point",
          "[timeout]")
{
    SECTION("sleep(0)")
    {
        Timeout limit(10ms);
        std::this_thread::sleep_for(20ms); // computing: nothing can interrupt it
        CHECK_THROWS_AS(eventlet::sleep(0), TimeoutError);
        CHECK(limit.expired());
    }
    SECTION("even when the scope ends right after it")
    {
        bool raised = false;
        try {
            Timeout limit(10ms);
            std::this_thread::sleep_for(20ms);
            eventlet::sleep(0);
        } catch (const TimeoutError&) {
            raised = true;
        }
        CHECK(raised);
    }
}

TEST_CASE("a generic handler inside the scope does not swallow a Timeout meant for the scope",
          "[timeout]")
{
    // Eventlet's Timeout is a BaseException for this reason, like GreenletExit here.
    CHECK_FALSE(std::is_base_of_v<std::exception, TimeoutError>);
    bool swallowed = false;
    bool reached_scope = false;
    try {
        Timeout limit(5ms);
        try {
            eventlet::sleep(3600); // a handler's call, say
        } catch (const std::exception&) {
            swallowed = true; // the handler's own errors, not the scope's limit
        }
    } catch (const TimeoutError& e) {
        reached_scope = true;
        CHECK_THAT(e.what(), Catch::Contains("timed out after"));
    }
    CHECK_FALSE(swallowed);
    CHECK(reached_scope);
}

TEST_CASE("a Timeout kept beyond its green thread's end does nothing when its time comes",
          "[timeout]")
{
    test_support::CaptureCerr cerr;
    std::unique_ptr<Timeout> kept; // a Timeout out of its scope: a misuse, but no crash
    SECTION("the green thread has ended, and a handle keeps it")
    {
        auto thread = eventlet::spawn([&] { kept = std::make_unique<Timeout>(2ms); });
        thread.wait();
        eventlet::sleep(0.01); // its time comes
        CHECK(thread.dead());
    }
    SECTION("the green thread is gone, greenlet and all")
    {
        eventlet::spawn([&] { kept = std::make_unique<Timeout>(2ms); }).wait();
        eventlet::sleep(0.01); // throwing into the freed greenlet would be a use after free
    }
    REQUIRE(kept);
    CHECK_FALSE(kept->expired());
    CHECK(cerr.text().empty());
}

TEST_CASE("a Timeout that fires while the green thread waits on a Queue", "[timeout]")
{
    eventlet::Queue<int> queue;
    auto consumer = eventlet::spawn([&] {
        Timeout limit(0.005);
        try {
            return queue.get();
        } catch (const TimeoutError&) {
            CHECK(limit.expired());
            return -1;
        }
    });
    CHECK(consumer.wait() == -1);
    CHECK(queue.getting() == 0); // it left the line
    queue.put(5);
    CHECK(queue.get() == 5); // and the item is not lost to a dead getter
}

TEST_CASE("a Timeout cancelled by the end of its scope does nothing later", "[timeout]")
{
    {
        Timeout limit(0.002);
        eventlet::sleep(0);
        CHECK(limit.pending());
    }
    CHECK_NOTHROW(eventlet::sleep(0.005));
}

TEST_CASE("a Timeout is cancelled when its scope ends by an exception", "[timeout]")
{
    try {
        Timeout limit(0.002);
        throw std::runtime_error("early exit");
    } catch (const std::runtime_error&) {
    }
    CHECK_NOTHROW(eventlet::sleep(0.005));
}

TEST_CASE("nested Timeouts: the inner one's error is told apart with expired()", "[timeout]")
{
    Timeout outer(3600);
    bool inner_fired = false;
    try {
        Timeout inner(0.002);
        eventlet::sleep(3600);
    } catch (const TimeoutError&) {
        inner_fired = true;
    }
    CHECK(inner_fired);
    CHECK_FALSE(outer.expired());
    CHECK(outer.pending());
}

TEST_CASE("a Timeout of nothing never fires", "[timeout]")
{
    Timeout none(std::nullopt);
    CHECK_FALSE(none.pending());
    eventlet::Event<void> event;
    eventlet::spawn_after(0.002, [&] { event.send(); });
    CHECK_NOTHROW(event.wait());
}

TEST_CASE("a Timeout inside a computation fires at the next blocking point", "[timeout]")
{
    Timeout limit(0.001);
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < 5ms) {
        // Busy: a green thread is never interrupted while it computes.
    }
    CHECK(limit.pending()); // its time has passed, but the hub has not run
    CHECK_THROWS_AS(eventlet::sleep(0.01), TimeoutError);
}
