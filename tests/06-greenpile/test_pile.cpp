// Chapter 6: GreenPile: results in spawn order, shared pools, errors, early destruction.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenpile.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/join.hpp>
#include <eventlet/timeout.hpp>

#include <algorithm>
#include <csignal>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/hub_helpers.hpp"
#include "../support/pile_helpers.hpp"

using eventlet::GreenPile;
using eventlet::GreenPool;

TEST_CASE("an empty pile iterates as empty", "[greenpile]")
{
    GreenPile<int> pile;
    CHECK(pile.begin() == pile.end());
    CHECK(eventlet::join(GreenPile<std::string>(3), ", ").empty());
}

TEST_CASE("a pile yields its results in spawn order, whatever order they finish in",
          "[greenpile]")
{
    GreenPile<int> pile(10);
    std::vector<int> finish_order;
    for (int i = 0; i < 6; ++i)
        pile.spawn(
            [&finish_order](int i) {
                // The last call finishes first: each waits, by turns, until
                // every later one has finished.
                while (static_cast<int>(finish_order.size()) < 5 - i)
                    eventlet::sleep(0);
                finish_order.push_back(i);
                return i * 100;
            },
            i);
    CHECK(pile.unread() == 6);
    const std::vector<int> results = test_support::read_all(pile);
    CHECK(results == std::vector<int>{0, 100, 200, 300, 400, 500});
    CHECK(finish_order == std::vector<int>{5, 4, 3, 2, 1, 0});
    CHECK(pile.unread() == 0);
}

TEST_CASE("each result is yielded as soon as it and all before it are ready", "[greenpile]")
{
    // The consumer sees result 0 while call 1 is still blocked: the pile
    // does not wait for every call before yielding the first.
    GreenPile<std::string> pile(4);
    eventlet::Event<void> release_second;
    pile.spawn([] { return std::string("first"); });
    pile.spawn([&] {
        release_second.wait();
        return std::string("second");
    });
    auto it = pile.begin();
    CHECK(*it == "first");
    release_second.send();
    ++it;
    CHECK(*it == "second");
    ++it;
    CHECK(it == pile.end());
}

TEST_CASE("join concatenates a pile's results incrementally", "[greenpile]")
{
    GreenPile<std::string> pile(3);
    for (const char* title : {"alpha", "beta", "gamma", "delta"})
        pile.spawn([](std::string title) {
            eventlet::sleep(0);
            return title;
        }, title);
    CHECK(eventlet::join(pile, "\n") == "alpha\nbeta\ngamma\ndelta");
}

TEST_CASE("an exception in one call is rethrown at its position", "[greenpile]")
{
    GreenPile<int> pile(4);
    for (int i = 0; i < 4; ++i)
        pile.spawn([](int i) {
            if (i == 1)
                throw std::runtime_error("call 1 failed");
            return i;
        }, i);
    auto it = pile.begin();
    CHECK(*it == 0);
    CHECK_THROWS_WITH(++it, "call 1 failed");
    ++it;
    CHECK(*it == 2);
    ++it;
    CHECK(*it == 3);
    ++it;
    CHECK(it == pile.end());
}

TEST_CASE("calls spawned while the pile is iterated are yielded by the same iteration",
          "[greenpile]")
{
    GreenPile<int> pile(4);
    pile.spawn([] { return 1; });
    std::vector<int> seen;
    for (int x : pile) {
        seen.push_back(x);
        if (x < 4)
            pile.spawn([x] { return x + 1; });
    }
    CHECK(seen == std::vector<int>{1, 2, 3, 4});
    // And after an iteration ended, the next one yields what was spawned since.
    pile.spawn([] { return 10; });
    const std::vector<int> later = test_support::read_all(pile);
    CHECK(later == std::vector<int>{10});
}

TEST_CASE("a pile on a busy pool waits for slots", "[greenpile]")
{
    GreenPool pool(2);
    eventlet::Event<void> release;
    pool.spawn_n([&] { release.wait(); });
    int running = 0;
    int peak = 0;
    GreenPile<int> pile(pool);
    // Spawning itself waits for a slot, so it happens in a green thread.
    auto spawner = eventlet::spawn([&] {
        for (int i = 0; i < 5; ++i)
            pile.spawn([&, i] {
                peak = std::max(peak, ++running);
                eventlet::sleep(0);
                --running;
                return i;
            });
    });
    std::vector<int> results;
    spawner.wait();
    for (int x : pile)
        results.push_back(x);
    CHECK(results == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(peak == 1); // the other slot stayed busy throughout
    release.send();
    pool.waitall();
}

TEST_CASE("two piles sharing one pool of size 3 keep its limit and get all their results",
          "[greenpile]")
{
    GreenPool pool(3);
    int running = 0;
    int peak = 0;
    const auto call = [&](int pile_number, int i) {
        peak = std::max(peak, ++running);
        eventlet::sleep(0.0001 * ((i * 7) % 3));
        --running;
        return pile_number * 100 + i;
    };
    GreenPile<int> first(pool);
    GreenPile<int> second(pool);
    auto fill_first = eventlet::spawn([&] {
        for (int i = 0; i < 20; ++i)
            first.spawn(call, 1, i);
    });
    auto fill_second = eventlet::spawn([&] {
        for (int i = 0; i < 20; ++i)
            second.spawn(call, 2, i);
    });
    std::vector<int> from_first;
    std::vector<int> from_second;
    auto read_first = eventlet::spawn([&] {
        fill_first.wait();
        for (int x : first)
            from_first.push_back(x);
    });
    auto read_second = eventlet::spawn([&] {
        fill_second.wait();
        for (int x : second)
            from_second.push_back(x);
    });
    read_first.wait();
    read_second.wait();
    std::vector<int> expected_first;
    std::vector<int> expected_second;
    for (int i = 0; i < 20; ++i) {
        expected_first.push_back(100 + i);
        expected_second.push_back(200 + i);
    }
    CHECK(from_first == expected_first);
    CHECK(from_second == expected_second);
    CHECK(peak == 3);
    CHECK(pool.running() == 0);
}

TEST_CASE("destroying a pile with calls still running neither hangs nor leaks them",
          "[greenpile]")
{
    GreenPool pool(2);
    eventlet::Event<void> never;
    int unwound = 0;
    struct Unwinds {
        int& count;
        ~Unwinds() { ++count; }
    };
    bool never_started_ran = false;
    {
        GreenPile<int> pile(pool);
        pile.spawn([&] {
            Unwinds guard{unwound};
            never.wait();
            return 1;
        });
        pile.spawn([&] {
            Unwinds guard{unwound};
            never.wait();
            return 2;
        });
        eventlet::sleep(0); // both started and block
        REQUIRE(pool.running() == 2);
    }
    CHECK(unwound == 2);
    CHECK(pool.running() == 0);
    {
        GreenPile<int> pile(pool);
        pile.spawn([&] {
            never_started_ran = true;
            return 3;
        });
    } // destroyed before the call started: it never runs
    test_support::run_until_idle();
    CHECK_FALSE(never_started_ran);
    CHECK(pool.running() == 0);
}

TEST_CASE("a pile with a pool of its own bounds its calls by its size", "[greenpile]")
{
    GreenPile<int> pile(2);
    int running = 0;
    int peak = 0;
    auto spawner = eventlet::spawn([&] {
        for (int i = 0; i < 8; ++i)
            pile.spawn([&, i] {
                peak = std::max(peak, ++running);
                eventlet::sleep(0);
                --running;
                return i;
            });
    });
    spawner.wait();
    int sum = 0;
    for (int x : pile)
        sum += x;
    CHECK(sum == 28);
    CHECK(peak == 2);
    CHECK(pile.pool().size() == 2);
}

TEST_CASE("destroying a pile stops a call that had not started even while it kills another",
          "[greenpile]")
{
    // Killing the running call yields; in that turn the hub would start the
    // other one if it had not been cancelled first.
    GreenPool pool(3);
    eventlet::Event<void> never;
    bool late_call_ran = false;
    {
        GreenPile<int> pile(pool);
        pile.spawn([&] {
            never.wait();
            return 1;
        });
        eventlet::sleep(0); // the first call runs and blocks
        pile.spawn([&] {
            late_call_ran = true;
            return 2;
        });
    }
    test_support::run_until_idle();
    CHECK_FALSE(late_call_ran);
    CHECK(pool.running() == 0);
}

TEST_CASE("a reader interrupted while it waits loses no result", "[greenpile]")
{
    GreenPile<int> pile(4);
    eventlet::Event<void> release;
    for (int i = 0; i < 3; ++i)
        pile.spawn([&release](int i) {
            release.wait();
            return i;
        }, i);
    {
        eventlet::Timeout limit(0.001);
        CHECK_THROWS_AS(pile.begin(), eventlet::TimeoutError);
    }
    CHECK(pile.unread() == 3);
    release.send();
    CHECK(test_support::read_all(pile) == std::vector<int>{0, 1, 2});
}

TEST_CASE("after a call's exception the iterator is not at the end while results remain",
          "[greenpile]")
{
    GreenPile<int> pile(2);
    pile.spawn([] { return 1; });
    pile.spawn([]() -> int { throw std::runtime_error("second failed"); });
    pile.spawn([] { return 3; });
    auto it = pile.begin();
    CHECK(*it == 1);
    CHECK_THROWS_WITH(++it, "second failed");
    CHECK(it != pile.end());                // a result remains
    CHECK_THROWS_AS(*it, std::logic_error); // but there is no current one
    ++it;
    CHECK(*it == 3);
    ++it;
    CHECK(it == pile.end());
}

TEST_CASE("a pile destroyed after its thread's hub ends the process with a message naming it, "
          "instead of touching the hub",
          "[greenpile][threads]")
{
    // As a pile kept in a global is destroyed at exit(), after the hub of
    // the main thread: one made before the hub outlives it.
    const auto leave_calls_behind = [](bool read_them) {
        std::thread([read_them] {
            thread_local std::optional<eventlet::GreenPile<int>> survivor;
            survivor.emplace(4); // made before the hub
            survivor->spawn([] { return 1; });
            if (read_them)
                for ([[maybe_unused]] int result : *survivor) {
                }
        }).join();
    };

    SECTION("with a call still alive")
    {
        const auto result = test_support::run_in_child([&] { leave_calls_behind(false); });
        CHECK(result.killed_by(SIGABRT));
        CHECK_THAT(result.stderr_text, Catch::Contains("a green pile stopping its calls") &&
                                           Catch::Contains("must not outlive its hub"));
    }
    SECTION("with every call read: nothing to stop, and the thread ends quietly")
    {
        const auto result = test_support::run_in_child([&] { leave_calls_behind(true); });
        CHECK(result.exited());
        CHECK(result.exit_code() == 0);
        CHECK(result.stderr_text.empty());
    }
}
