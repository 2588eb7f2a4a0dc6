// get_nowait() and put_nowait() while a parked waiter has been woken for
// an item (or for room) and has not run yet. The woken waiter keeps what
// it was woken for; anything beyond that is there for the taking: an item
// no woken getter needs goes to get_nowait(), a free slot no woken putter
// needs to put_nowait(), at once. (Eventlet gives even the woken waiter's
// item away, and parks the waiter again; here it is promised.)
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/queue.hpp>
#include <eventlet/shared_queue.hpp>
#include <eventlet/timeout.hpp>

#include <string>
#include <vector>

using eventlet::Queue;
using eventlet::QueueEmpty;
using eventlet::QueueFull;
using eventlet::spawn;

namespace {

template <class Q>
std::vector<int> nowait_drain(Q& queue)
{
    std::vector<int> items;
    while (!queue.empty())
        items.push_back(queue.get_nowait());
    return items;
}

} // namespace

TEST_CASE("get_nowait() takes an item that no woken getter needs", "[queue][nowait]")
{
    eventlet::Timeout bound(10);
    Queue<int> queue;
    auto getter = spawn([&] { return queue.get(); });
    eventlet::sleep(0); // it parks
    queue.put(1);       // the getter is woken for an item: it runs at the next turn
    queue.put(2);
    queue.put(3);
    CHECK(queue.get_nowait() == 1); // oldest first: the getter takes the next
    CHECK(queue.get(0) == 2);       // a zero timeout is the same call
    CHECK(queue.size() == 1);
    CHECK_THROWS_AS(queue.get_nowait(), QueueEmpty); // the last item is the getter's
    CHECK_THROWS_AS(queue.get(0), QueueEmpty);
    CHECK(getter.wait() == 3);
    CHECK(queue.empty());
}

TEST_CASE("the item a getter was woken for stays its own", "[queue][nowait]")
{
    eventlet::Timeout bound(10);
    Queue<int> queue;
    auto getter = spawn([&] { return queue.get(); });
    eventlet::sleep(0);
    queue.put(1);
    CHECK(queue.size() == 1);
    CHECK_THROWS_AS(queue.get_nowait(), QueueEmpty);
    CHECK(getter.wait() == 1);
}

TEST_CASE("get() with an item no woken getter needs takes it without parking", "[queue][nowait]")
{
    eventlet::Timeout bound(10);
    Queue<int> queue;
    bool getter_ran = false;
    auto getter = spawn([&] {
        const int item = queue.get();
        getter_ran = true;
        return item;
    });
    eventlet::sleep(0);
    queue.put(1);
    queue.put(2);
    CHECK(queue.get() == 1);
    CHECK_FALSE(getter_ran); // get() did not park: the getter has not run yet
    CHECK(getter.wait() == 2);
}

TEST_CASE("a getter killed after it was woken passes its item on to the next in line",
          "[queue][nowait]")
{
    eventlet::Timeout bound(10);
    Queue<int> queue;
    auto killed = spawn([&] { return queue.get(); });
    auto next = spawn([&] { return queue.get(60); });
    eventlet::sleep(0);
    queue.put(1);
    killed.kill();
    CHECK(next.wait() == 1);
    CHECK_THROWS_AS(killed.wait(), eventlet::GreenletExit);
    // With nobody left in line, the item of a killed getter is free.
    auto last = spawn([&] { return queue.get(); });
    eventlet::sleep(0);
    queue.put(2);
    last.kill();
    CHECK(queue.get_nowait() == 2);
}

TEST_CASE("put_nowait() uses a slot that no woken putter needs", "[queue][nowait]")
{
    eventlet::Timeout bound(10);
    Queue<int> queue(3);
    queue.put(10);
    queue.put(11);
    queue.put(12);
    auto putter = spawn([&] { queue.put(13); });
    eventlet::sleep(0); // it parks: the queue is full
    CHECK(queue.get_nowait() == 10); // the putter is woken for the slot
    CHECK(queue.size() == 2);
    CHECK(queue.full()); // a put() would park: the free slot is the putter's
    CHECK_THROWS_AS(queue.put_nowait(99), QueueFull);
    CHECK_THROWS_AS(queue.put(99, 0), QueueFull);
    CHECK(queue.get_nowait() == 11); // a second slot, which nobody needs
    CHECK_FALSE(queue.full());
    CHECK_NOTHROW(queue.put_nowait(99));
    CHECK(queue.full());
    putter.wait();
    CHECK(nowait_drain(queue) == std::vector<int>{12, 99, 13});
}

TEST_CASE("get_nowait() on a channel takes an offer that no woken getter needs", "[queue][nowait]")
{
    eventlet::Timeout bound(10);
    Queue<int> channel(0);
    auto getter = spawn([&] { return channel.get(); });
    eventlet::sleep(0); // it parks
    auto first = spawn([&] { channel.put(1); });
    auto second = spawn([&] { channel.put(2); });
    eventlet::sleep(0); // both offer their items; the getter is woken for one of them
    REQUIRE(channel.putting() == 2);
    int taken = 0;
    CHECK_NOTHROW(taken = channel.get_nowait());
    CHECK(taken == 1);
    CHECK_THROWS_AS(channel.get_nowait(), QueueEmpty);
    CHECK(getter.wait() == 2);
    while (channel.putting() != 0) // only if an item went astray: free its putter
        channel.get();
    first.wait();
    second.wait();
}

TEST_CASE("SharedQueue: get_nowait() takes any item, and a woken getter waits for the next",
          "[queue][nowait]")
{
    // SharedQueue keeps nothing for the getter it wakes (its wait lines
    // hand out chances, across threads): get_nowait() takes any item there
    // is, and the woken getter checks again when it runs.
    eventlet::Timeout bound(10);
    eventlet::SharedQueue<int> queue;
    auto getter = spawn([&] { return queue.get(); });
    eventlet::sleep(0);
    queue.put(1);
    queue.put(2);
    CHECK(queue.get_nowait() == 1);
    CHECK(getter.wait() == 2);
}
