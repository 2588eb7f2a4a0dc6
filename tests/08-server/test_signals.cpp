// Chapter 8: signals delivered to a green thread through the hub.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/signals.hpp>
#include <eventlet/timeout.hpp>

#include <signal.h>

#include <stdexcept>
#include <system_error>

TEST_CASE("SignalSet::wait() parks until one of its signals arrives, and returns its number",
          "[server][signals]")
{
    const eventlet::Timeout bound(10);
    eventlet::SignalSet signals{SIGUSR1, SIGUSR2};
    auto waiter = eventlet::spawn([&] { return signals.wait(); });
    eventlet::sleep(0); // the waiter parks
    CHECK_FALSE(waiter.dead());
    REQUIRE(::raise(SIGUSR2) == 0); // caught: it would end the process otherwise
    CHECK(waiter.wait() == SIGUSR2);
}

TEST_CASE("a signal that arrives while nobody waits is kept for the next wait()",
          "[server][signals]")
{
    const eventlet::Timeout bound(10);
    eventlet::SignalSet signals{SIGUSR1};
    REQUIRE(::raise(SIGUSR1) == 0);
    CHECK(signals.wait() == SIGUSR1);
}

TEST_CASE("a green thread killed while it waits for a signal leaves the set usable",
          "[server][signals]")
{
    const eventlet::Timeout bound(10);
    eventlet::SignalSet signals{SIGUSR1};
    auto waiter = eventlet::spawn([&] { return signals.wait(); });
    eventlet::sleep(0);
    waiter.kill();
    CHECK_THROWS_AS(waiter.wait(), eventlet::GreenletExit);
    auto second = eventlet::spawn([&] { return signals.wait(); });
    eventlet::sleep(0);
    REQUIRE(::raise(SIGUSR1) == 0);
    CHECK(second.wait() == SIGUSR1);
}

TEST_CASE("SignalSet refuses a signal that cannot be caught, and a second waiter",
          "[server][signals]")
{
    CHECK_THROWS_AS(eventlet::SignalSet({SIGKILL}), std::system_error);
    eventlet::SignalSet signals{SIGUSR1};
    auto waiter = eventlet::spawn([&] { return signals.wait(); });
    eventlet::sleep(0);
    CHECK_THROWS_AS(signals.wait(), std::logic_error);
    REQUIRE(::raise(SIGUSR1) == 0);
    CHECK(waiter.wait() == SIGUSR1);
}
