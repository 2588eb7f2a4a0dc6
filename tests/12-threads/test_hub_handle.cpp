// Chapter 12: another OS thread hands a call to a hub through its handle.
#include <catch2/catch.hpp>

#include <eventlet/errors.hpp>
#include <eventlet/event.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/hub_handle.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

using eventlet::Hub;
using eventlet::HubHandle;

TEST_CASE("calls posted from another thread run in the hub's thread, in order",
          "[threads][hub-handle]")
{
    const HubHandle hub = Hub::current().handle();
    CHECK(hub.alive());
    std::vector<int> ran;
    std::vector<std::thread::id> ran_on;
    eventlet::Event<void> all_ran;
    constexpr int count = 100;
    int accepted = 0; // written by the poster, read after join()
    const eventlet::ExpectPosts expecting; // or the hub would see a deadlock
    std::jthread poster([&] {
        for (int i = 0; i < count; ++i)
            accepted += hub.post([&, i] {
                ran.push_back(i);
                ran_on.push_back(std::this_thread::get_id());
                if (i == count - 1)
                    all_ran.send();
            });
    });
    all_ran.wait(); // the hub runs the calls while this green thread parks
    poster.join();
    CHECK(accepted == count);
    REQUIRE(ran.size() == count);
    for (int i = 0; i < count; ++i) {
        CHECK(ran[static_cast<std::size_t>(i)] == i);
        CHECK(ran_on[static_cast<std::size_t>(i)] == std::this_thread::get_id());
    }
}

TEST_CASE("a busy hub runs a posted call within its next two turns", "[threads][hub-handle]")
{
    // The hub looks in Asio's queue only now and then while it is busy, but
    // a post is counted, and the count is read on every turn. The poster
    // says when its post is counted; from then on, a green thread that
    // keeps yielding must see the call run within a few of its sleep(0)s
    // (each sleep(0) is one turn), not after the next look at Asio.
    const HubHandle hub = Hub::current().handle();
    std::atomic<bool> posted{false};
    bool ran = false;
    std::jthread poster([&] {
        CHECK(hub.post([&ran] { ran = true; }));
        posted.store(true, std::memory_order_release);
    });
    while (!posted.load(std::memory_order_acquire))
        eventlet::sleep(0);
    int turns = 0;
    while (!ran && turns < 1000) {
        eventlet::sleep(0);
        ++turns;
    }
    INFO("the call ran after " << turns << " sleep(0)s");
    CHECK(ran);
    CHECK(turns <= 3);
}

TEST_CASE("without ExpectPosts, a hub that waits only for posts raises Deadlock",
          "[threads][hub-handle]")
{
    // Nothing tells the hub that another thread will post: it cannot wait.
    eventlet::Event<void> never;
    CHECK_THROWS_AS(never.wait(), eventlet::Deadlock);
}

TEST_CASE("a handle outlives its hub safely", "[threads][hub-handle]")
{
    HubHandle gone;
    std::thread short_lived([&gone] { gone = Hub::current().handle(); });
    short_lived.join(); // the thread's hub is destroyed as it exits
    CHECK_FALSE(gone.alive());
    bool ran = false;
    CHECK_FALSE(gone.post([&ran] { ran = true; }));
    CHECK_FALSE(ran);
    CHECK_FALSE(HubHandle().post([] {}));
    CHECK_THROWS_AS(Hub::current().handle().post(nullptr), std::invalid_argument);
    CHECK(Hub::current().handle() == Hub::current().handle());
    CHECK_FALSE(Hub::current().handle() == gone);
}

TEST_CASE("a posted call that throws is reported, and the hub goes on", "[threads][hub-handle]")
{
    const HubHandle hub = Hub::current().handle();
    eventlet::Event<void> after;
    const eventlet::ExpectPosts expecting;
    std::jthread poster([&] {
        hub.post([] { throw std::runtime_error("a posted call failed on purpose"); });
        hub.post([&after] { after.send(); });
    });
    after.wait();
    poster.join();
}
