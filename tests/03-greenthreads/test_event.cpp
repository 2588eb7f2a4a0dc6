// Chapter 3: Event.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>

#include <csignal>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/hub_helpers.hpp"

using namespace std::chrono_literals;
using eventlet::Event;
using eventlet::spawn;

TEST_CASE("an event wakes every waiter with the value sent, in the order they waited", "[event]")
{
    Event<std::string> event;
    std::vector<std::string> got;
    std::vector<eventlet::GreenThread<void>> waiters;
    for (int i = 0; i < 3; ++i)
        waiters.push_back(spawn([&, i] { got.push_back(std::to_string(i) + ":" + event.wait()); }));
    eventlet::sleep(0);
    CHECK(got.empty());
    event.send("go");
    for (auto& w : waiters)
        w.wait();
    CHECK(got == std::vector<std::string>{"0:go", "1:go", "2:go"});
}

TEST_CASE("send never switches: waiters wake at the hub's next turn", "[event]")
{
    Event<int> event;
    std::vector<std::string> log;
    auto waiter = spawn([&] { log.push_back("woke with " + std::to_string(event.wait())); });
    eventlet::sleep(0);
    event.send(1);
    log.push_back("sender goes on");
    waiter.wait();
    CHECK(log == std::vector<std::string>{"sender goes on", "woke with 1"});
}

TEST_CASE("waiting on an event already sent returns at once", "[event]")
{
    Event<int> event;
    event.send(3);
    CHECK(event.ready());
    CHECK(event.wait() == 3);
    CHECK(event.wait(0.001) == 3);
}

TEST_CASE("an exception sent through an event is thrown in every waiter", "[event]")
{
    Event<int> event;
    auto waiter = spawn([&] { return event.wait(); });
    eventlet::sleep(0);
    event.send_exception(std::make_exception_ptr(std::runtime_error("failed upstream")));
    CHECK(event.has_exception());
    CHECK_THROWS_WITH(waiter.wait(), "failed upstream");
    CHECK_THROWS_WITH(event.wait(), "failed upstream");
}

TEST_CASE("a wait with a timeout gives up and returns nothing", "[event]")
{
    Event<int> event;
    const auto before = std::chrono::steady_clock::now();
    CHECK_FALSE(event.wait(20ms).has_value());
    CHECK(std::chrono::steady_clock::now() - before >= 20ms);

    Event<void> signal;
    CHECK_FALSE(signal.wait(0.001));
    eventlet::spawn_after(0.001, [&] { signal.send(); });
    CHECK(signal.wait(5));
}

TEST_CASE("an event cannot be sent twice until it is reset", "[event]")
{
    Event<int> event;
    event.send(1);
    CHECK_THROWS_AS(event.send(2), std::logic_error);
    event.reset();
    CHECK_FALSE(event.ready());
    event.send(2);
    CHECK(event.wait() == 2);
}

TEST_CASE("waiting on an event nobody will send is a Deadlock, not a hang", "[event]")
{
    Event<void> never;
    CHECK_THROWS_AS(never.wait(), eventlet::Deadlock);
}

TEST_CASE("waiters in line when an event is sent get the value even if it is reset at once",
          "[event]")
{
    // send() only schedules the wake-ups; reset() before they run must not
    // take the value back from the waiters it was sent to.
    Event<int> event;
    auto waiter = spawn([&] { return event.wait(); });
    auto late = spawn([&] { return event.wait(2s); });
    eventlet::sleep(0); // both are in line
    event.send(1);
    event.reset();
    CHECK(waiter.wait() == 1);
    CHECK(late.wait() == std::optional<int>(1));
    CHECK_FALSE(event.ready());

    // A waiter that comes after the reset waits for the next send.
    auto next = spawn([&] { return event.wait(); });
    eventlet::sleep(0);
    CHECK_FALSE(next.dead());
    event.send(2);
    CHECK(next.wait() == 2);
}

TEST_CASE("destroying an event while a green thread waits on it stops the program with a message "
          "that names both",
          "[event][lifetime]")
{
    // The rule "destroy a waitable object only when nobody waits on it" is
    // checked (without NDEBUG, and under ASan) as Boost.Fiber asserts it.
    const auto child = test_support::run_in_child([] {
        auto event = std::make_unique<Event<int>>();
        auto waiter = spawn([&] { event->wait(); });
        eventlet::sleep(0); // it parks on the event
        event.reset();      // the mistake
    });
    CHECK(child.killed_by(SIGABRT));
    CHECK_THAT(child.stderr_text, Catch::Contains("an Event was destroyed while green thread '") &&
                                      Catch::Contains("destroy a waitable object only when nobody "
                                                      "waits on it"));
}
