// An event sent, reset and sent again before its waiters have run: each
// waiter gets what was sent when it was in line, as in Eventlet, whose
// send() hands every waiter the result of that send. The waiters wake at
// the hub's next turn, so the second send, or an exception sent instead,
// must not reach the ones the first send was for.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/timeout.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using eventlet::Event;
using eventlet::spawn;

namespace {

std::exception_ptr resend_error(const char* what)
{
    return std::make_exception_ptr(std::runtime_error(what));
}

} // namespace

TEST_CASE("a waiter in line at a send gets its value though the event is reset and sent again",
          "[event][resend]")
{
    eventlet::Timeout bound(10);
    Event<std::string> event;
    auto waiter = spawn([&] { return event.wait(); });
    auto timed = spawn([&] { return event.wait(60); });
    eventlet::sleep(0); // both are in line
    event.send("first");
    event.reset();
    event.send("second");
    CHECK(waiter.wait() == "first");
    CHECK(timed.wait() == std::optional<std::string>("first"));
    CHECK(event.wait() == "second"); // the event itself holds the last send
}

TEST_CASE("a waiter in line at a send gets its value though an exception is sent next",
          "[event][resend]")
{
    eventlet::Timeout bound(10);
    Event<int> event;
    auto waiter = spawn([&] { return event.wait(); });
    eventlet::sleep(0);
    event.send(7);
    event.reset();
    event.send_exception(resend_error("second send"));
    CHECK(waiter.wait() == 7);
    CHECK_THROWS_WITH(event.wait(), "second send");
}

TEST_CASE("a waiter in line at send_exception() throws it though a value is sent next",
          "[event][resend]")
{
    eventlet::Timeout bound(10);
    Event<int> event;
    auto waiter = spawn([&] { return event.wait(); });
    eventlet::sleep(0);
    event.send_exception(resend_error("first send"));
    event.reset();
    event.send(3);
    CHECK_THROWS_WITH(waiter.wait(), "first send");
    CHECK(event.wait() == 3);
}

TEST_CASE("Event<void>: a waiter gets the outcome of the send it was in line for", "[event][resend]")
{
    eventlet::Timeout bound(10);
    Event<void> event;
    SECTION("a send, then an exception")
    {
        auto waiter = spawn([&] { event.wait(); });
        auto timed = spawn([&] { return event.wait(60); });
        eventlet::sleep(0);
        event.send();
        event.reset();
        event.send_exception(resend_error("second send"));
        CHECK_NOTHROW(waiter.wait());
        CHECK(timed.wait());
    }
    SECTION("an exception, then a send")
    {
        auto waiter = spawn([&] { event.wait(); });
        eventlet::sleep(0);
        event.send_exception(resend_error("first send"));
        event.reset();
        event.send();
        CHECK_THROWS_WITH(waiter.wait(), "first send");
        CHECK_NOTHROW(event.wait());
    }
}

TEST_CASE("waiters of two sends in one turn: each gets its own send, in the order they waited",
          "[event][resend]")
{
    // `relay` wakes two green threads before the first send's waiters run:
    // one resets the event and waits again, the other sends anew. Both run
    // at the turn the first send's wake-ups are due, ahead of them.
    eventlet::Timeout bound(10);
    Event<int> event;
    Event<void> relay;
    std::vector<std::string> got;
    auto waiter = [&](const char* name) {
        return spawn([&, name] { got.push_back(name + std::to_string(event.wait())); });
    };
    auto a = waiter("a");
    auto b = waiter("b");
    auto c = spawn([&] { got.push_back("c" + std::to_string(event.wait(60).value_or(-1))); });
    auto late = spawn([&] {
        relay.wait();
        event.reset();
        got.push_back("late" + std::to_string(event.wait()));
    });
    auto resender = spawn([&] {
        relay.wait();
        event.send(2);
    });
    eventlet::sleep(0); // all park: a, b, c on the event, late and resender on relay
    relay.send();
    event.send(1);
    a.wait();
    b.wait();
    c.wait();
    late.wait();
    resender.wait();
    CHECK(got == std::vector<std::string>{"a1", "b1", "c1", "late2"});
}

TEST_CASE("a waiter killed after a send has woken it leaves the others their value",
          "[event][resend]")
{
    eventlet::Timeout bound(10);
    Event<int> event;
    auto killed = spawn([&] { return event.wait(); });
    auto waiter = spawn([&] { return event.wait(); });
    eventlet::sleep(0);
    event.send(1);
    killed.kill(); // its wake-up is due, not run: it unwinds out of the line
    event.reset();
    event.send(2);
    CHECK(waiter.wait() == 1);
    CHECK_THROWS_AS(killed.wait(), eventlet::GreenletExit);

    // The line is left clean: a new waiter waits for the next send.
    event.reset();
    auto next = spawn([&] { return event.wait(); });
    eventlet::sleep(0);
    CHECK_FALSE(next.dead());
    event.send(3);
    CHECK(next.wait() == 3);
}

TEST_CASE("a waiter whose timeout expires before any send leaves no trace in the event",
          "[event][resend]")
{
    eventlet::Timeout bound(10);
    Event<int> event;
    CHECK_FALSE(event.wait(0.001).has_value());
    CHECK_FALSE(event.wait(0).has_value());
    auto waiter = spawn([&] { return event.wait(); });
    eventlet::sleep(0);
    event.send(4);
    event.reset();
    event.send(5);
    CHECK(waiter.wait() == 4);
}
