// A hub, its green threads and what they wait on belong to one OS thread.
// Another thread that kills one of them or sends to what they wait on would
// touch a hub that is not thread-safe and wake nobody: it gets a clear
// error instead, and nothing changes (HubHandle is the way across).
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/semaphore.hpp>

#include <stdexcept>
#include <string>
#include <thread>

namespace {

// Runs `body` on a new OS thread and returns what it threw (or "none").
template <class Body>
std::string error_on_another_thread(Body body)
{
    std::string error = "none";
    std::thread([&] {
        try {
            body();
        } catch (const std::logic_error& thrown) {
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
