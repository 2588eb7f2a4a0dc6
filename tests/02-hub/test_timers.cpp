// Chapter 2: the hub's timers, sleep, and Deadlock.
#include <catch2/catch.hpp>

#include <eventlet/hub.hpp>

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../support/hub_helpers.hpp"

using eventlet::Hub;
using namespace std::chrono_literals;
using test_support::green;
using test_support::run_until_idle;
using test_support::start;

TEST_CASE("timers run in the order of their deadlines, not of their scheduling", "[hub][timer]")
{
    std::vector<int> order;
    Hub& hub = Hub::current();
    hub.schedule_call(0.03, [&] { order.push_back(30); });
    hub.schedule_call(10ms, [&] { order.push_back(10); });
    hub.schedule_call(0.02, [&] { order.push_back(20); });
    run_until_idle();
    CHECK(order == std::vector<int>{10, 20, 30});
}

TEST_CASE("calls at the next turn run in the order they were scheduled", "[hub][timer]")
{
    std::vector<int> order;
    for (int i = 0; i < 5; ++i)
        Hub::current().schedule_call(0, [&order, i] { order.push_back(i); });
    run_until_idle();
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("a timer that became due before a call at the next turn was scheduled runs first",
          "[hub][timer]")
{
    // Eventlet's order: a call at the next turn is a timer due the moment it
    // is scheduled, and due timers run in the order of their deadlines.
    std::vector<std::string> order;
    Hub& hub = Hub::current();
    hub.schedule_call(0.01, [&] { order.push_back("timer"); });
    hub.schedule_call(0, [&] { order.push_back("scheduled before its deadline"); });
    std::this_thread::sleep_for(20ms); // computing, without a blocking point
    hub.schedule_call(0, [&] { order.push_back("scheduled after its deadline"); });
    run_until_idle();
    CHECK(order == std::vector<std::string>{"scheduled before its deadline", "timer",
                                            "scheduled after its deadline"});
}

TEST_CASE("calls scheduled by a call of this turn run at the next turn, after the due timers",
          "[hub][timer]")
{
    std::vector<std::string> order;
    Hub& hub = Hub::current();
    hub.schedule_call(0, [&] {
        order.push_back("first");
        hub.schedule_call(0, [&] { order.push_back("next turn"); });
    });
    hub.schedule_call(0, [&] { order.push_back("second"); });
    run_until_idle();
    CHECK(order == std::vector<std::string>{"first", "second", "next turn"});
}

TEST_CASE("a timer never fires before its delay has passed", "[hub][timer]")
{
    const auto scheduled = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point fired;
    Hub::current().schedule_call(20ms, [&] { fired = std::chrono::steady_clock::now(); });
    run_until_idle();
    CHECK(fired - scheduled >= 20ms);
}

TEST_CASE("a cancelled timer never runs and no longer keeps the hub busy", "[hub][timer]")
{
    bool ran = false;
    eventlet::TimerHandle handle = Hub::current().schedule_call(3600, [&] { ran = true; });
    CHECK(handle.pending());
    handle.cancel();
    CHECK_FALSE(handle.pending());
    run_until_idle(); // would wait an hour if the cancelled timer still counted
    CHECK_FALSE(ran);

    SECTION("cancelling twice, or after it ran, does nothing")
    {
        handle.cancel();
        eventlet::TimerHandle soon = Hub::current().schedule_call(0, [] {});
        run_until_idle();
        CHECK_FALSE(soon.pending());
        soon.cancel();
        eventlet::TimerHandle empty;
        empty.cancel();
        CHECK_FALSE(empty.pending());
    }
}

TEST_CASE("a callback may cancel its own timer and others", "[hub][timer]")
{
    bool later_ran = false;
    eventlet::TimerHandle later = Hub::current().schedule_call(0.01, [&] { later_ran = true; });
    eventlet::TimerHandle self;
    self = Hub::current().schedule_call(0, [&] {
        self.cancel();
        later.cancel();
    });
    run_until_idle();
    CHECK_FALSE(later_ran);
}

TEST_CASE("sleeping green threads wake in the order of their wake-up times", "[hub][sleep]")
{
    // 100 ms between the wake-up times: the three start within
    // microseconds, but a loaded machine (or a sanitizer build) may pause
    // the process between two starts, and 10 ms was too little margin.
    std::vector<std::string> order;
    auto a = green([&] { eventlet::sleep(0.25); order.push_back("a"); });
    auto b = green([&] { eventlet::sleep(0.05); order.push_back("b"); });
    auto c = green([&] { eventlet::sleep(0.15); order.push_back("c"); });
    start(*a);
    start(*b);
    start(*c);
    run_until_idle();
    CHECK(order == std::vector<std::string>{"b", "c", "a"});
}

TEST_CASE("the root greenlet can sleep too", "[hub][sleep]")
{
    const auto before = std::chrono::steady_clock::now();
    eventlet::sleep(15ms);
    CHECK(std::chrono::steady_clock::now() - before >= 15ms);
}

TEST_CASE("sleep(0) lets every other ready green thread run before the caller resumes",
          "[hub][sleep]")
{
    std::string trace;
    auto worker = [&](char name) {
        return [&trace, name] {
            for (int i = 0; i < 3; ++i) {
                trace += name;
                eventlet::sleep(0);
            }
        };
    };
    auto a = green(worker('a'));
    auto b = green(worker('b'));
    auto c = green(worker('c'));
    start(*a);
    start(*b);
    start(*c);
    run_until_idle();
    CHECK(trace == "abcabcabc");
}

TEST_CASE("with nothing left to wake anyone, a waiting call throws Deadlock instead of hanging",
          "[hub][deadlock]")
{
    SECTION("the root waits on the hub with nothing scheduled")
    {
        CHECK_THROWS_AS(Hub::current().switch_to(), eventlet::Deadlock);
    }
    SECTION("a green thread parks with nobody to wake it, and the root waits too")
    {
        bool parked = false;
        auto forgotten = green([&] {
            parked = true;
            Hub::current().switch_to(); // nothing will ever switch back
        });
        start(*forgotten);
        eventlet::sleep(0.001); // lets it run and park
        CHECK(parked);
        CHECK_THROWS_WITH(Hub::current().switch_to(), Catch::Contains("nothing can wake one"));
        // Destroying it unwinds it from its park: no hang, no leak.
        forgotten.reset();
    }
    SECTION("the hub is usable again after a Deadlock")
    {
        CHECK_THROWS_AS(Hub::current().switch_to(), eventlet::Deadlock);
        eventlet::sleep(0);
        bool ran = false;
        Hub::current().schedule_call(0, [&] { ran = true; });
        run_until_idle();
        CHECK(ran);
    }
}

TEST_CASE("an exception thrown by a callback is reported on stderr and the hub goes on",
          "[hub][errors]")
{
    test_support::CaptureCerr cerr;
    bool after = false;
    Hub::current().schedule_call(0, [] { throw std::runtime_error("boom"); });
    Hub::current().schedule_call(0.001, [&] { after = true; });
    run_until_idle();
    CHECK(after);
    CHECK_THAT(cerr.text(), Catch::Contains("eventlet: a hub callback raised std::runtime_error: boom"));
}

TEST_CASE("an exception escaping a handler added to the hub's Asio context is reported and the "
          "hub goes on",
          "[hub][errors]")
{
    test_support::CaptureCerr cerr;
    // As code that adds its own I/O objects through io_context() does: the
    // resolver's completion handler, say, building addresses from an answer.
    asio::post(Hub::current().io_context(), [] { throw std::runtime_error("bad answer"); });
    eventlet::sleep(0.001); // the hub runs the handler while the root sleeps
    bool after = false;
    Hub::current().schedule_call(0, [&] { after = true; });
    run_until_idle();
    CHECK(after);
    CHECK_THAT(cerr.text(),
               Catch::Contains("eventlet: a hub handler raised std::runtime_error: bad answer"));
}

TEST_CASE("an exception escaping a green thread is reported and the hub goes on", "[hub][errors]")
{
    test_support::CaptureCerr cerr;
    bool other_finished = false;
    auto failing = green([] {
        eventlet::sleep(0);
        throw std::invalid_argument("bad input");
    });
    auto other = green([&] {
        eventlet::sleep(0.002);
        other_finished = true;
    });
    start(*failing);
    start(*other);
    run_until_idle();
    CHECK(failing->dead());
    CHECK(other_finished);
    CHECK_THAT(cerr.text(), Catch::Contains("std::invalid_argument: bad input"));
}

TEST_CASE("a hub callback cannot block", "[hub][errors]")
{
    test_support::CaptureCerr cerr;
    Hub::current().schedule_call(0, [] { eventlet::sleep(0); });
    run_until_idle();
    CHECK_THAT(cerr.text(), Catch::Contains("cannot block inside the hub"));
}

TEST_CASE("destroying a sleeping green thread cancels its wake-up", "[hub][sleep]")
{
    std::vector<std::string> log;
    auto sleeper = green([&] {
        struct Witness {
            std::vector<std::string>& log;
            ~Witness() { log.push_back("unwound"); }
        } witness{log};
        eventlet::sleep(0.01);
        log.push_back("woke"); // must never happen
    });
    start(*sleeper);
    eventlet::sleep(0); // it starts and goes to sleep
    sleeper.reset();
    CHECK(log == std::vector<std::string>{"unwound"});
    run_until_idle(); // the cancelled wake-up must not switch into freed memory
    CHECK(log == std::vector<std::string>{"unwound"});
}

TEST_CASE("each OS thread has a hub of its own", "[hub][threads]")
{
    Hub* here = &Hub::current();
    Hub* there = nullptr;
    bool slept = false;
    std::thread other([&] {
        there = &Hub::current();
        eventlet::sleep(0.001);
        slept = true;
    });
    other.join();
    CHECK(there != here);
    CHECK(slept);
}

TEST_CASE("spans of time are given as seconds or as chrono durations", "[hub]")
{
    CHECK(eventlet::Seconds(0.5).count() == 0.5);
    CHECK(eventlet::Seconds(250ms).count() == 0.25);
    CHECK(eventlet::Seconds(-1).to_steady() == std::chrono::steady_clock::duration::zero());
    CHECK_THROWS_AS(eventlet::Seconds(std::nan("")), std::invalid_argument);
}
