// Chapter 12: a queue whose items cross OS threads, and whose getters park
// green threads of any hub (or a plain thread) until an item comes.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/shared_queue.hpp>

#include <atomic>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using eventlet::SharedQueue;

TEST_CASE("a SharedQueue keeps the order of its items and says when it cannot wait",
          "[threads][shared-queue]")
{
    SharedQueue<std::string> queue(2);
    queue.put("one");
    queue.put_nowait("two");
    CHECK(queue.size() == 2);
    std::string three = "three";
    CHECK_THROWS_AS(queue.put_nowait(std::move(three)), eventlet::QueueFull);
    CHECK(three == "three"); // a refused rvalue is left as it was
    CHECK(queue.get() == "one");
    CHECK(queue.get_nowait() == "two");
    CHECK(queue.empty());
    CHECK_THROWS_AS(queue.get_nowait(), eventlet::QueueEmpty);
    CHECK_THROWS_AS(queue.get(eventlet::Seconds(0.001)), eventlet::QueueEmpty);
    CHECK_THROWS_AS(SharedQueue<int>(0), std::invalid_argument);
}

TEST_CASE("items put by a plain OS thread reach a parked green thread in order, while its hub "
          "runs the others",
          "[threads][shared-queue]")
{
    SharedQueue<int> queue;
    constexpr int count = 2000;
    int ticks = 0;
    bool done = false;
    auto ticker = eventlet::spawn([&] {
        while (!done) {
            ++ticks;
            eventlet::sleep(0);
        }
    });
    auto consumer = eventlet::spawn([&] {
        std::vector<int> got;
        for (int i = 0; i < count; ++i)
            got.push_back(queue.get());
        done = true;
        return got;
    });
    std::jthread producer([&] {
        for (int i = 0; i < count; ++i)
            queue.put(i);
    });
    const std::vector<int> got = consumer.wait();
    producer.join();
    ticker.wait();
    std::vector<int> expected(count);
    std::iota(expected.begin(), expected.end(), 0);
    CHECK(got == expected);
    CHECK(ticks > 0);
}

TEST_CASE("green threads of two hubs pass every item exactly once", "[threads][shared-queue]")
{
    SharedQueue<int> queue(16); // bounded: putters park too
    constexpr int producers = 3, consumers = 3, per_producer = 500;
    std::atomic<long> sum{0};
    std::atomic<int> taken{0};
    std::jthread consuming([&] {
        std::vector<eventlet::GreenThread<void>> threads;
        for (int c = 0; c < consumers; ++c)
            threads.push_back(eventlet::spawn([&] {
                for (;;) {
                    const int item = queue.get();
                    if (item < 0)
                        return; // one stop mark per consumer
                    sum += item;
                    ++taken;
                }
            }));
        for (auto& thread : threads)
            thread.wait();
    });
    std::jthread producing([&] {
        std::vector<eventlet::GreenThread<void>> threads;
        for (int p = 0; p < producers; ++p)
            threads.push_back(eventlet::spawn([&, p] {
                for (int i = 1; i <= per_producer; ++i)
                    queue.put(p * per_producer + i);
            }));
        for (auto& thread : threads)
            thread.wait();
        for (int c = 0; c < consumers; ++c)
            queue.put(-1);
    });
    producing.join();
    consuming.join();
    const long n = producers * per_producer;
    CHECK(taken.load() == n);
    CHECK(sum.load() == n * (n + 1) / 2);
}

TEST_CASE("a plain OS thread parks in get() until a green thread puts", "[threads][shared-queue]")
{
    SharedQueue<std::string> to_plain;
    SharedQueue<std::string> to_green;
    std::jthread plain([&] { to_green.put(to_plain.get() + " back"); });
    to_plain.put("there");
    CHECK(to_green.get() == "there back");
    plain.join();
}

TEST_CASE("a getter that leaves after it was notified passes the item's chance on",
          "[threads][shared-queue]")
{
    SharedQueue<int> queue;
    auto first = eventlet::spawn([&] { return queue.get(); });
    auto second = eventlet::spawn([&] { return queue.get(); });
    eventlet::sleep(0); // both park, first in line first
    queue.put(1);       // notifies the first, whose wake-up comes at a later turn
    first.kill();       // it leaves before that: the second must be told instead
    CHECK(second.wait() == 1);
    CHECK(queue.empty());
}

TEST_CASE("a getter that times out leaves the line", "[threads][shared-queue]")
{
    SharedQueue<int> queue;
    CHECK_THROWS_AS(queue.get(eventlet::Seconds(0.005)), eventlet::QueueEmpty);
    queue.put(4);
    CHECK(queue.get_nowait() == 4);
}
