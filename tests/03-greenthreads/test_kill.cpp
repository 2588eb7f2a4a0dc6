// Chapter 3: killing and cancelling green threads.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/semaphore.hpp>

#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/hub_helpers.hpp"

using eventlet::GreenletExit;
using eventlet::spawn;

namespace {

struct Witness {
    std::vector<std::string>& log;
    std::string name;
    ~Witness() { log.push_back(name + " unwound"); }
};

} // namespace

TEST_CASE("kill raises GreenletExit where the green thread blocks, and its destructors run",
          "[greenthread][kill]")
{
    std::vector<std::string> log;
    auto gt = spawn([&] {
        Witness w{log, "sleeper"};
        eventlet::sleep(3600);
        log.push_back("woke up");
    });
    eventlet::sleep(0); // it starts and sleeps
    gt.kill();
    CHECK(log == std::vector<std::string>{"sleeper unwound"});
    CHECK(gt.dead());
    CHECK_THROWS_AS(gt.wait(), GreenletExit);
    test_support::run_until_idle(); // the hour-long sleep no longer counts
}

TEST_CASE("kill yields: the target runs at once, the killer at the hub's next turn",
          "[greenthread][kill]")
{
    std::vector<std::string> log;
    auto target = spawn([&] {
        try {
            eventlet::sleep(3600);
        } catch (const GreenletExit&) {
            log.push_back("target unwinding");
            throw;
        }
    });
    auto bystander = spawn([&] { log.push_back("bystander"); });
    eventlet::sleep(0); // target sleeps; bystander has run
    log.clear();
    auto other = spawn([&] { log.push_back("other ran"); });
    target.kill();
    log.push_back("killer resumed");
    other.wait();
    CHECK(log == std::vector<std::string>{"target unwinding", "other ran", "killer resumed"});
    bystander.wait();
}

TEST_CASE("a green thread killed before it starts never runs", "[greenthread][kill]")
{
    bool ran = false;
    auto gt = spawn([&] { ran = true; });
    gt.kill();
    CHECK(gt.dead());
    test_support::run_until_idle();
    CHECK_FALSE(ran);
    CHECK_THROWS_AS(gt.wait(), GreenletExit);
}

TEST_CASE("cancel stops a green thread only if it has not started", "[greenthread][kill]")
{
    bool ran = false;
    auto early = eventlet::spawn_after(0.01, [&] { ran = true; });
    CHECK(early.cancel());
    test_support::run_until_idle();
    CHECK_FALSE(ran);

    auto running = spawn([] { eventlet::sleep(0.001); return 3; });
    eventlet::sleep(0);
    CHECK_FALSE(running.cancel());
    CHECK(running.wait() == 3);
}

TEST_CASE("kill can raise another exception than GreenletExit", "[greenthread][kill]")
{
    auto gt = spawn([] { eventlet::sleep(3600); });
    eventlet::sleep(0);
    gt.kill(std::make_exception_ptr(std::runtime_error("stop now")));
    CHECK_THROWS_WITH(gt.wait(), "stop now");
}

TEST_CASE("killing a finished green thread does nothing", "[greenthread][kill]")
{
    auto gt = spawn([] { return 1; });
    CHECK(gt.wait() == 1);
    gt.kill();
    CHECK(gt.wait() == 1);
}

TEST_CASE("a green thread killed while it holds a semaphore gives the permit back",
          "[greenthread][kill]")
{
    eventlet::Semaphore semaphore(1);
    auto holder = spawn([&] {
        std::lock_guard<eventlet::Semaphore> hold(semaphore);
        eventlet::sleep(3600);
    });
    eventlet::sleep(0);
    CHECK(semaphore.counter() == 0);
    auto next = spawn([&] {
        std::lock_guard<eventlet::Semaphore> hold(semaphore);
        return std::string("got it");
    });
    eventlet::sleep(0);
    CHECK_FALSE(next.dead()); // parked on the semaphore
    holder.kill();
    CHECK(next.wait() == "got it");
    CHECK(semaphore.counter() == 1);
}

TEST_CASE("a green thread can kill itself", "[greenthread][kill]")
{
    std::shared_ptr<eventlet::GreenThread<void>> self = std::make_shared<eventlet::GreenThread<void>>();
    bool after = false;
    *self = spawn([self, &after] {
        self->kill();
        after = true;
    });
    CHECK_THROWS_AS(self->wait(), GreenletExit);
    CHECK_FALSE(after);
    *self = {};
}

TEST_CASE("a killed waiter leaves the line: the next one gets the event", "[greenthread][kill]")
{
    eventlet::Event<int> event;
    std::vector<int> got;
    auto first = spawn([&] { got.push_back(event.wait()); });
    auto second = spawn([&] { got.push_back(event.wait() + 1); });
    eventlet::sleep(0);
    first.kill();
    event.send(10);
    second.wait();
    CHECK(got == std::vector<int>{11});
}
