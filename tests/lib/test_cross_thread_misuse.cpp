// A hub, its green threads and what they wait on belong to one OS thread.
// Another thread that kills one of them or sends to what they wait on would
// touch a hub that is not thread-safe and wake nobody: it gets a clear
// error instead, and nothing changes (HubHandle is the way across).
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/queue.hpp>
#include <eventlet/semaphore.hpp>

#include <stdexcept>
#include <string>
#include <thread>

namespace {

// Runs `body` on a new OS thread and returns the message of what it threw
// (or "none"): any std::exception, so that a wrong one fails the check
// instead of ending the test program.
template <class Body>
std::string error_on_another_thread(Body body)
{
    std::string error = "none";
    std::thread([&] {
        try {
            body();
        } catch (const std::exception& thrown) {
            error = thrown.what();
        }
    }).join();
    return error;
}

} // namespace

TEST_CASE("kill() and cancel() from another OS thread throw, and the green thread runs as before",
          "[greenthread][threads]")
{
    auto thread = eventlet::spawn([] { return 3; }); // not started yet
    CHECK_THAT(error_on_another_thread([&] { thread.kill(); }),
               Catch::Contains("kill of green thread") && Catch::Contains("another OS thread"));
    CHECK_THAT(error_on_another_thread([&] { thread.cancel(); }), Catch::Contains("cancel of green thread"));
    CHECK_FALSE(thread.dead());
    CHECK(thread.wait() == 3);
}

TEST_CASE("sending to an event from another OS thread than its waiters' throws, and sends nothing",
          "[event][threads]")
{
    eventlet::Event<int> event;
    auto waiter = eventlet::spawn([&] { return event.wait(); });
    eventlet::sleep(0); // it parks on the event
    CHECK_THAT(error_on_another_thread([&] { event.send(1); }),
               Catch::Contains("an Event notified from another OS thread"));
    CHECK_FALSE(event.ready());
    event.send(2);
    CHECK(waiter.wait() == 2);
}

TEST_CASE("releasing a semaphore from another OS thread than its waiters' throws, and keeps the count",
          "[semaphore][threads]")
{
    eventlet::Semaphore semaphore(0);
    auto waiter = eventlet::spawn([&] { semaphore.acquire(); });
    eventlet::sleep(0);
    CHECK_THAT(error_on_another_thread([&] { semaphore.release(); }),
               Catch::Contains("a Semaphore notified from another OS thread"));
    CHECK(semaphore.counter() == 0);
    semaphore.release();
    waiter.wait();
}

TEST_CASE("put() on a queue from another OS thread than its getters' throws, and adds nothing",
          "[queue][threads]")
{
    eventlet::Queue<int> queue;
    auto getter = eventlet::spawn([&] { return queue.get(); });
    eventlet::sleep(0); // it parks in get()
    CHECK_THAT(error_on_another_thread([&] { queue.put(1); }),
               Catch::Contains("a Queue (a getter) notified from another OS thread"));
    CHECK(queue.empty());
    queue.put(2);
    CHECK(getter.wait() == 2);
    CHECK(queue.empty());
}

TEST_CASE("get() on a full queue from another OS thread than its putters' throws, and takes nothing",
          "[queue][threads]")
{
    eventlet::Queue<int> queue(1);
    queue.put(1);
    auto putter = eventlet::spawn([&] { queue.put(2); });
    eventlet::sleep(0); // it parks in put()
    CHECK_THAT(error_on_another_thread([&] { queue.get(); }),
               Catch::Contains("a Queue (a putter) notified from another OS thread"));
    CHECK(queue.size() == 1);
    CHECK(queue.putting() == 1);
    CHECK(queue.get() == 1); // wakes the putter
    putter.wait();
    CHECK(queue.get() == 2);
}

TEST_CASE("get() on a channel from another OS thread than its putter's throws, and leaves the offer",
          "[queue][threads]")
{
    eventlet::Queue<int> channel(0);
    auto putter = eventlet::spawn([&] { channel.put(3); });
    eventlet::sleep(0); // it parks in put(), offering its item
    CHECK_THAT(error_on_another_thread([&] { channel.get(); }),
               Catch::Contains("a Queue (a putter) notified from another OS thread"));
    CHECK(channel.putting() == 1);
    CHECK(channel.get() == 3);
    putter.wait();
}

TEST_CASE("waiting on an event from another OS thread than its waiters' throws, and parks nothing",
          "[event][threads]")
{
    eventlet::Event<int> event;
    auto waiter = eventlet::spawn([&] { return event.wait(); });
    eventlet::sleep(0); // it parks on the event
    CHECK_THAT(error_on_another_thread([&] { event.wait(); }),
               Catch::Contains("an Event waited on from another OS thread"));
    event.send(2);
    CHECK(waiter.wait() == 2);
}

TEST_CASE("waiting for a green thread from another OS thread throws, and the green thread runs as "
          "before",
          "[greenthread][threads]")
{
    auto thread = eventlet::spawn([] {
        eventlet::sleep(0.01);
        return 7;
    });
    CHECK_THAT(error_on_another_thread([&] { thread.wait(); }),
               Catch::Contains("wait of green thread") && Catch::Contains("another OS thread"));
    CHECK_THAT(error_on_another_thread([&] { thread.join(); }), Catch::Contains("wait of green thread"));
    CHECK(thread.wait() == 7);
    int result = 0; // ended, it has its result for any thread
    CHECK(error_on_another_thread([&] { result = thread.wait(); }) == "none");
    CHECK(result == 7);
}

TEST_CASE("a green pool in use refuses spawns and waits from another OS thread, and changes nothing",
          "[greenpool][threads]")
{
    eventlet::GreenPool pool(4);
    eventlet::Event<> go;
    pool.spawn_n([&] { go.wait(); });
    CHECK_THAT(error_on_another_thread([&] { pool.spawn([] { return 1; }); }),
               Catch::Contains("GreenPool::spawn() from another OS thread"));
    CHECK_THAT(error_on_another_thread([&] { pool.spawn_n([] {}); }), Catch::Contains("GreenPool::spawn_n()"));
    CHECK_THAT(error_on_another_thread([&] { pool.waitall(); }), Catch::Contains("GreenPool::waitall()"));
    CHECK_THAT(error_on_another_thread([&] { pool.resize(8); }), Catch::Contains("GreenPool::resize()"));
    CHECK(pool.running() == 1);
    CHECK(pool.size() == 4);
    go.send();
    pool.waitall();
    // Idle, it belongs to no hub: another thread may use it in turn.
    int result = 0;
    CHECK(error_on_another_thread([&] { result = pool.spawn([] { return 5; }).wait(); }) == "none");
    CHECK(result == 5);
    CHECK(pool.running() == 0);
}

TEST_CASE("a green pool first used by a thread's first spawn belongs to that thread",
          "[greenpool][threads]")
{
    std::string error;
    std::thread([&] {
        eventlet::GreenPool pool(2);
        pool.spawn_n([] {}); // this thread's first use of the library
        error = error_on_another_thread([&] { pool.spawn_n([] {}); });
        pool.waitall();
    }).join();
    CHECK_THAT(error, Catch::Contains("GreenPool::spawn_n() from another OS thread"));
}
