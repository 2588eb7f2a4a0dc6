// Chapter 3: Queue.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/queue.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/hub_helpers.hpp"

using eventlet::Queue;
using eventlet::spawn;

TEST_CASE("items come out of a queue in the order they went in", "[queue]")
{
    Queue<int> queue;
    auto producer = spawn([&] {
        for (int i = 0; i < 5; ++i)
            queue.put(i);
    });
    std::vector<int> got;
    for (int i = 0; i < 5; ++i)
        got.push_back(queue.get());
    producer.wait();
    CHECK(got == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("get parks while the queue is empty", "[queue]")
{
    Queue<std::string> queue;
    std::vector<std::string> log;
    auto consumer = spawn([&] { log.push_back("got " + queue.get()); });
    eventlet::sleep(0);
    CHECK(queue.getting() == 1);
    log.push_back("putting");
    queue.put("x");
    consumer.wait();
    CHECK(log == std::vector<std::string>{"putting", "got x"});
}

TEST_CASE("put parks while a bounded queue is full", "[queue]")
{
    Queue<int> queue(2);
    std::vector<std::string> log;
    auto producer = spawn([&] {
        for (int i = 0; i < 4; ++i) {
            queue.put(i);
            log.push_back("put " + std::to_string(i));
        }
    });
    eventlet::sleep(0);
    CHECK(log == std::vector<std::string>{"put 0", "put 1"});
    CHECK(queue.full());
    CHECK(queue.putting() == 1);
    CHECK(queue.get() == 0);
    CHECK(queue.get() == 1);
    producer.wait();
    CHECK(queue.size() == 2);
}

TEST_CASE("get and put with timeouts give up with QueueEmpty and QueueFull", "[queue]")
{
    Queue<int> queue(1);
    CHECK_THROWS_AS(queue.get(0.002), eventlet::QueueEmpty);
    CHECK_THROWS_AS(queue.get_nowait(), eventlet::QueueEmpty);
    queue.put(1);
    CHECK_THROWS_AS(queue.put(2, 0.002), eventlet::QueueFull);
    CHECK_THROWS_AS(queue.put_nowait(2), eventlet::QueueFull);
    CHECK(queue.size() == 1); // the refused items were not added
    CHECK(queue.get_nowait() == 1);
}

TEST_CASE("parked getters are served in arrival order", "[queue]")
{
    Queue<int> queue;
    std::string order;
    auto getter = [&](char name) { return spawn([&, name] { order += name + std::to_string(queue.get()); }); };
    auto a = getter('a');
    auto b = getter('b');
    auto c = getter('c');
    eventlet::sleep(0);
    queue.put(1);
    queue.put(2);
    queue.put(3);
    a.wait();
    b.wait();
    c.wait();
    CHECK(order == "a1b2c3");
}

TEST_CASE("a queue carries move-only items", "[queue]")
{
    Queue<std::unique_ptr<int>> queue;
    queue.put(std::make_unique<int>(9));
    CHECK(*queue.get() == 9);
}

TEST_CASE("a queue of size 0 is a channel: a put waits until a get has taken its item",
          "[queue][channel]")
{
    Queue<int> channel(0);
    std::vector<std::string> trace;
    SECTION("a putter that comes first parks, and returns after the getter has gone on")
    {
        auto putter = spawn([&] {
            channel.put(7);
            trace.push_back("put returned");
        });
        eventlet::sleep(0); // it runs, and parks
        CHECK(channel.putting() == 1);
        CHECK(channel.size() == 0);
        CHECK(channel.full());
        CHECK(channel.get() == 7); // an offer waits: no need to park
        trace.push_back("got");
        putter.wait();
        CHECK(trace == std::vector<std::string>{"got", "put returned"});
    }
    SECTION("a getter that comes first gets the item before the putter returns")
    {
        auto getter = spawn([&] {
            const int item = channel.get();
            trace.push_back("got " + std::to_string(item));
        });
        eventlet::sleep(0); // it parks
        CHECK(channel.getting() == 1);
        channel.put(3);
        trace.push_back("put returned");
        getter.wait();
        CHECK(trace == std::vector<std::string>{"got 3", "put returned"});
    }
    SECTION("putters hand their items over in the order they came")
    {
        auto first = spawn([&] { channel.put(1); });
        auto second = spawn([&] { channel.put(2); });
        eventlet::sleep(0);
        CHECK(channel.putting() == 2);
        CHECK(channel.get() == 1);
        CHECK(channel.get() == 2);
        first.wait();
        second.wait();
    }
    SECTION("the nowait forms succeed only when the other side is already there")
    {
        CHECK_THROWS_AS(channel.put_nowait(1), eventlet::QueueFull);
        CHECK_THROWS_AS(channel.get_nowait(), eventlet::QueueEmpty);
        auto getter = spawn([&] { return channel.get(); });
        eventlet::sleep(0);
        channel.put_nowait(5); // the parked getter takes it at the next turn
        CHECK(getter.wait() == 5);
    }
}

TEST_CASE("a put on a channel that no getter takes in time keeps its item", "[queue][channel]")
{
    Queue<std::unique_ptr<int>> channel(0);
    auto item = std::make_unique<int>(1);
    CHECK_THROWS_AS(channel.put(std::move(item), 0.005), eventlet::QueueFull);
    REQUIRE(item);
    CHECK(*item == 1);
    CHECK(channel.putting() == 0); // its offer left with it
    CHECK_THROWS_AS(channel.get(0.001), eventlet::QueueEmpty);
}

TEST_CASE("a put that fails leaves the item with the caller", "[queue]")
{
    eventlet::Queue<std::unique_ptr<int>> queue(1);
    queue.put(std::make_unique<int>(1));
    auto second = std::make_unique<int>(2);
    CHECK_THROWS_AS(queue.put_nowait(std::move(second)), eventlet::QueueFull);
    REQUIRE(second != nullptr); // not moved from: nothing was lost
    CHECK(*second == 2);
    CHECK_THROWS_AS(queue.put(std::move(second), 0.001), eventlet::QueueFull);
    REQUIRE(second != nullptr);
    CHECK(*queue.get() == 1);
    queue.put_nowait(std::move(second));
    CHECK(second == nullptr);
    CHECK(*queue.get() == 2);
}
