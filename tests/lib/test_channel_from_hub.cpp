// A hub callback cannot park, so on a channel (Queue(0)) it cannot wait for
// a getter to take its item: put_nowait() hands the item over instead, as
// Eventlet's does from its main loop ("put_nowait must work from the
// mainloop", in Eventlet's queue tests).
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/queue.hpp>
#include <eventlet/timeout.hpp>

#include <stdexcept>
#include <string>

TEST_CASE("put_nowait() on a channel from a hub callback hands the item to a parked getter",
          "[queue]")
{
    eventlet::Timeout bound(10);
    eventlet::Queue<std::string> channel(0);
    auto getter = eventlet::spawn([&] { return channel.get(); });
    eventlet::sleep(0); // it parks
    std::string outcome;
    eventlet::Hub::current().schedule_call(0, [&] {
        try {
            channel.put_nowait("from the hub");
            outcome = "handed over";
        } catch (const std::exception& error) {
            outcome = error.what();
        }
    });
    CHECK(getter.wait() == "from the hub");
    CHECK(outcome == "handed over");
    CHECK(channel.size() == 0); // a channel holds no item
}

TEST_CASE("put_nowait() on a channel from a hub callback, with no getter parked, is QueueFull",
          "[queue]")
{
    eventlet::Timeout bound(10);
    eventlet::Queue<int> channel(0);
    bool full = false;
    eventlet::Hub::current().schedule_call(0, [&] {
        try {
            channel.put_nowait(1);
        } catch (const eventlet::QueueFull&) {
            full = true;
        }
    });
    eventlet::sleep(0);
    CHECK(full);
    CHECK_THROWS_AS(channel.get_nowait(), eventlet::QueueEmpty);
}

TEST_CASE("a channel's getters take the putters' items before those handed over by the hub",
          "[queue]")
{
    eventlet::Timeout bound(10);
    eventlet::Queue<int> channel(0);
    auto first = eventlet::spawn([&] { return channel.get(); });
    auto second = eventlet::spawn([&] { return channel.get(); });
    eventlet::sleep(0); // both park
    auto putter = eventlet::spawn([&] { channel.put(1); });
    eventlet::Hub::current().schedule_call(0, [&] { channel.put_nowait(2); });
    CHECK(first.wait() == 1);
    CHECK(second.wait() == 2);
    putter.wait();
}
