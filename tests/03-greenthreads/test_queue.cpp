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

TEST_CASE("a queue of size 0 is refused", "[queue]")
{
    CHECK_THROWS_AS(Queue<int>(0), std::invalid_argument);
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
