// Chapter 5: GreenPool's slots: spawn, spawn_n, waitall, resize, inline spawn.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/hub.hpp>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/hub_helpers.hpp"
#include "concurrency.hpp"

using eventlet::GreenPool;
using pool_test::Concurrency;

TEST_CASE("a pool never runs more green threads at once than its size", "[greenpool]")
{
    GreenPool pool(4);
    Concurrency calls;
    std::vector<eventlet::GreenThread<int>> threads;
    for (int i = 0; i < 40; ++i)
        threads.push_back(pool.spawn([&calls, i] {
            calls.enter();
            CHECK(calls.now <= 4);
            eventlet::sleep(0.0001 * (i % 5));
            calls.leave();
            return i;
        }));
    int sum = 0;
    for (auto& thread : threads)
        sum += thread.wait();
    CHECK(sum == 40 * 39 / 2);
    CHECK(calls.peak == 4);
    CHECK(pool.running() == 0);
    CHECK(pool.free() == 4);
}

TEST_CASE("spawn parks the caller while the pool is full, and wakes it when a slot frees",
          "[greenpool]")
{
    GreenPool pool(2);
    eventlet::Event<void> release_first;
    eventlet::Event<void> release_second;
    auto first = pool.spawn([&] { release_first.wait(); });
    auto second = pool.spawn([&] { release_second.wait(); });
    eventlet::sleep(0);
    REQUIRE(pool.running() == 2);
    REQUIRE(pool.free() == 0);

    bool third_spawned = false;
    auto spawner = eventlet::spawn([&] {
        pool.spawn([] {}).wait();
        third_spawned = true;
    });
    eventlet::sleep(0);
    CHECK(pool.waiting() == 1);
    CHECK_FALSE(third_spawned);

    release_first.send();
    spawner.wait();
    CHECK(third_spawned);
    CHECK(pool.waiting() == 0);
    release_second.send();
    pool.waitall();
    CHECK(pool.running() == 0);
}

TEST_CASE("callers waiting for a slot get one in the order they arrived", "[greenpool]")
{
    GreenPool pool(1);
    eventlet::Event<void> release;
    pool.spawn([&] { release.wait(); });
    std::vector<int> order;
    std::vector<eventlet::GreenThread<void>> spawners;
    for (int i = 0; i < 5; ++i)
        spawners.push_back(eventlet::spawn([&, i] { pool.spawn([&, i] { order.push_back(i); }); }));
    eventlet::sleep(0);
    CHECK(pool.waiting() == 5);
    release.send();
    for (auto& spawner : spawners)
        spawner.wait();
    pool.waitall();
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("a green thread of a full pool that spawns into it runs the call inline",
          "[greenpool]")
{
    // Waiting for a slot here would deadlock: the only slot is the caller's.
    GreenPool pool(1);
    std::vector<std::string> log;
    auto outer = pool.spawn([&] {
        log.push_back("outer starts");
        auto inner = pool.spawn([&] {
            log.push_back("inner runs");
            return 7;
        });
        log.push_back("outer goes on");
        CHECK(inner.dead());
        return inner.wait() * 6;
    });
    CHECK(outer.wait() == 42);
    CHECK(log == std::vector<std::string>{"outer starts", "inner runs", "outer goes on"});
    CHECK(pool.running() == 0);
}

TEST_CASE("an inline call that throws keeps its error in its handle; spawn_n reports it",
          "[greenpool]")
{
    GreenPool pool(1);
    test_support::CaptureCerr cerr;
    auto outer = pool.spawn([&] {
        auto inner = pool.spawn([]() -> int { throw std::runtime_error("inner failed"); });
        CHECK_THROWS_WITH(inner.wait(), "inner failed");
        pool.spawn_n([] { throw std::runtime_error("inline spawn_n failed"); });
        return true;
    });
    CHECK(outer.wait());
    CHECK_THAT(cerr.text(), Catch::Contains("inline spawn_n failed"));
}

TEST_CASE("spawn_n reports an escaping exception and frees the slot", "[greenpool]")
{
    GreenPool pool(1);
    test_support::CaptureCerr cerr;
    pool.spawn_n([] { throw std::runtime_error("spawn_n failed"); });
    pool.waitall();
    CHECK(pool.free() == 1);
    CHECK_THAT(cerr.text(), Catch::Contains("spawn_n failed"));
    bool ran = false;
    pool.spawn_n([&] { ran = true; });
    pool.waitall();
    CHECK(ran);
}

TEST_CASE("a slot comes back however its green thread ends", "[greenpool]")
{
    GreenPool pool(3);
    eventlet::Event<void> never;
    auto throws = pool.spawn([]() -> int { throw std::runtime_error("boom"); });
    auto killed = pool.spawn([&] { never.wait(); });
    auto cancelled = pool.spawn([] {});
    CHECK(pool.running() == 3);
    CHECK(cancelled.cancel());
    eventlet::sleep(0);
    killed.kill();
    CHECK_THROWS_WITH(throws.wait(), "boom");
    pool.waitall();
    CHECK(pool.running() == 0);
    CHECK(pool.free() == 3);
}

TEST_CASE("waitall waits for every green thread of the pool", "[greenpool]")
{
    GreenPool pool(10);
    int finished = 0;
    for (int i = 0; i < 25; ++i)
        pool.spawn_n([&finished, i] {
            eventlet::sleep(0.0001 * (i % 3));
            ++finished;
        });
    pool.waitall();
    CHECK(finished == 25);
    pool.waitall(); // an idle pool returns at once
}

TEST_CASE("waitall from one of the pool's own green threads is refused", "[greenpool]")
{
    GreenPool pool(2);
    auto thread = pool.spawn([&] { pool.waitall(); });
    CHECK_THROWS_AS(thread.wait(), std::logic_error);
}

TEST_CASE("growing a pool lets callers waiting for a slot in", "[greenpool][resize]")
{
    GreenPool pool(1);
    eventlet::Event<void> release;
    pool.spawn([&] { release.wait(); });
    int started = 0;
    std::vector<eventlet::GreenThread<void>> spawners;
    for (int i = 0; i < 3; ++i)
        spawners.push_back(eventlet::spawn([&] {
            pool.spawn([&] {
                ++started;
                release.wait();
            });
        }));
    eventlet::sleep(0);
    REQUIRE(pool.waiting() == 3);
    pool.resize(3);
    CHECK(pool.size() == 3);
    spawners[0].wait(); // each spawner ends once it has its slot
    spawners[1].wait();
    CHECK(pool.waiting() == 1);
    CHECK_FALSE(spawners[2].dead());
    release.send();
    spawners[2].wait();
    pool.waitall();
    CHECK(started == 3);
}

TEST_CASE("shrinking a pool lets the running green threads finish and starts no new one "
          "until fewer run than the new size",
          "[greenpool][resize]")
{
    GreenPool pool(4);
    Concurrency calls;
    std::vector<eventlet::Event<void>> gates(4);
    std::vector<eventlet::GreenThread<void>> threads;
    for (auto& gate : gates)
        threads.push_back(pool.spawn([&calls, &gate] {
            calls.enter();
            gate.wait();
            calls.leave();
        }));
    eventlet::sleep(0);
    REQUIRE(calls.now == 4);
    pool.resize(2);
    CHECK(pool.free() == 0);
    bool late_started = false;
    auto spawner = eventlet::spawn([&] { pool.spawn([&] { late_started = true; }).wait(); });
    gates[0].send();
    gates[1].send();
    threads[0].wait();
    threads[1].wait();
    CHECK(calls.now == 2);      // the other two still run
    CHECK(pool.waiting() == 1); // 2 running is not fewer than 2
    CHECK_FALSE(late_started);
    gates[2].send();
    spawner.wait();
    CHECK(late_started);
    gates[3].send();
    pool.waitall();
    CHECK(calls.peak == 4);
}

TEST_CASE("a pool of no slots is refused", "[greenpool]")
{
    CHECK_THROWS_AS(GreenPool(0), std::invalid_argument);
    GreenPool pool(1);
    CHECK_THROWS_AS(pool.resize(0), std::invalid_argument);
    CHECK(pool.size() == 1);
}

TEST_CASE("a pool destroyed before its green threads end leaves them running", "[greenpool]")
{
    eventlet::Event<void> release;
    bool finished = false;
    {
        GreenPool pool(1);
        pool.spawn_n([&] {
            release.wait();
            finished = true;
        });
        eventlet::sleep(0);
    }
    release.send();
    test_support::run_until_idle();
    CHECK(finished);
}

TEST_CASE("destroying a pool wakes the callers parked in spawn with a clear error",
          "[greenpool][pool]")
{
    eventlet::Event<void> finish;
    auto pool = std::make_unique<GreenPool>(1);
    pool->spawn_n([&finish] { finish.wait(); }); // holds the only slot
    std::string error;
    auto spawner = eventlet::spawn([&pool, &error] {
        try {
            pool->spawn_n([] {});
        } catch (const std::logic_error& e) {
            error = e.what();
        }
    });
    eventlet::sleep(0); // the spawner parks for a slot
    REQUIRE(pool->waiting() == 1);

    pool.reset();
    spawner.wait();
    CHECK_THAT(error, Catch::Contains("destroyed while a green thread waited in spawn()"));
    finish.send(); // the pool's green thread goes on, and ends
    eventlet::sleep(0);
}
