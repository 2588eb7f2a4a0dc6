// The exercise of chapter 6: a pile that yields results in the order its
// calls finish.
//
// No test sleeps to let things happen. The order in which calls finish is
// set by events: each call waits for the one that must finish before it.
// A test that would wait for ever on wrong code (a result that never
// comes) gets eventlet::Deadlock instead, and fails.
#include <catch2/catch.hpp>

#include <racing_pile.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

using eventlet::GreenPool;
using exercise::RacingPile;

namespace {

/// Reads a pile to its end.
std::vector<int> read_all(RacingPile<int>& pile)
{
    std::vector<int> results;
    for (int x : pile)
        results.push_back(x);
    return results;
}

/// Runs the hub until nothing is left that could wake anyone (chapter 2's
/// Deadlock trick): everything that could run has run.
void run_until_idle()
{
    try {
        eventlet::Hub::current().switch_to();
    } catch (const eventlet::Deadlock&) {
    }
}

} // namespace

TEST_CASE("an empty racing pile iterates as empty", "[racing]")
{
    GreenPool pool(4);
    RacingPile<int> pile(pool);
    CHECK(pile.begin() == pile.end());
    CHECK(pile.unread() == 0);
}

TEST_CASE("results come in the order the calls finish, not the order they were spawned",
          "[racing]")
{
    // Call 2 finishes first and lets call 0 finish, which lets call 1 finish.
    GreenPool pool(4);
    RacingPile<int> pile(pool);
    eventlet::Event<void> zero_may_finish;
    eventlet::Event<void> one_may_finish;
    pile.spawn([&] {
        zero_may_finish.wait();
        one_may_finish.send();
        return 0;
    });
    pile.spawn([&] {
        one_may_finish.wait();
        return 1;
    });
    pile.spawn([&] {
        zero_may_finish.send();
        return 2;
    });
    CHECK(pile.unread() == 3);
    CHECK(read_all(pile) == std::vector<int>{2, 0, 1});
    CHECK(pile.unread() == 0);
}

TEST_CASE("a result is yielded as soon as its call ends, while calls spawned before it still run",
          "[racing]")
{
    GreenPool pool(4);
    RacingPile<std::string> pile(pool);
    eventlet::Event<void> release_slow;
    bool slow_done = false;
    pile.spawn([&] {
        release_slow.wait();
        slow_done = true;
        return std::string("slow");
    });
    pile.spawn([] { return "fast"; }); // a const char*, converted to std::string
    auto it = pile.begin();
    CHECK(*it == "fast");
    CHECK_FALSE(slow_done);
    CHECK(pile.unread() == 1);
    release_slow.send();
    ++it;
    CHECK(*it == "slow");
    ++it;
    CHECK(it == pile.end());
}

TEST_CASE("a call's exception is rethrown when it finishes, and iteration goes on", "[racing]")
{
    GreenPool pool(4);
    RacingPile<int> pile(pool);
    eventlet::Event<void> first_done;
    eventlet::Event<void> second_done;
    pile.spawn([&] {
        second_done.wait();
        return 3;
    });
    pile.spawn([&]() -> int {
        first_done.wait();
        second_done.send();
        throw std::runtime_error("the second call to finish failed");
    });
    pile.spawn([&] {
        first_done.send();
        return 1;
    });
    auto it = pile.begin();
    CHECK(*it == 1);
    CHECK_THROWS_WITH(++it, "the second call to finish failed");
    ++it;
    CHECK(*it == 3);
    ++it;
    CHECK(it == pile.end());
    CHECK(pile.unread() == 0);
}

TEST_CASE("calls spawned while the pile is iterated are yielded by the same iteration",
          "[racing]")
{
    GreenPool pool(4);
    RacingPile<int> pile(pool);
    pile.spawn([] { return 1; });
    std::vector<int> seen;
    for (int x : pile) {
        seen.push_back(x);
        if (x < 4)
            pile.spawn([x] { return x + 1; });
    }
    CHECK(seen == std::vector<int>{1, 2, 3, 4});
    // And the next iteration yields what was spawned after this one ended.
    pile.spawn([] { return 10; });
    CHECK(read_all(pile) == std::vector<int>{10});
}

TEST_CASE("a racing pile shares its pool's limit and gets every result once", "[racing]")
{
    GreenPool pool(3);
    RacingPile<int> pile(pool);
    int running = 0;
    int peak = 0;
    // Spawning waits for a slot once the pool is full, so it happens in a
    // green thread of its own.
    auto spawner = eventlet::spawn([&] {
        for (int i = 0; i < 10; ++i)
            pile.spawn(
                [&](int i) {
                    peak = std::max(peak, ++running);
                    eventlet::sleep(0);
                    --running;
                    return i;
                },
                i);
    });
    spawner.wait();
    std::vector<int> results = read_all(pile);
    std::sort(results.begin(), results.end());
    CHECK(results == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    CHECK(peak == 3);
    CHECK(pool.running() == 0);
}

TEST_CASE("a call the pool runs inline is yielded like any other", "[racing]")
{
    // A green thread of a full pool that spawns into it runs the call at
    // once (chapter 5): the pile gets a call that has already ended when the
    // pool hands it over.
    GreenPool pool(1);
    RacingPile<int> pile(pool);
    auto outer = pool.spawn([&] {
        pile.spawn([] { return 7; });
        return pile.unread();
    });
    CHECK(outer.wait() == 1);
    CHECK(read_all(pile) == std::vector<int>{7});
}

TEST_CASE("destroying a racing pile stops its calls: unstarted ones never run, running ones unwind",
          "[racing]")
{
    GreenPool pool(3);
    eventlet::Event<void> never;
    int unwound = 0;
    bool unstarted_ran = false;
    // Counts the calls that unwind; one of them blocks while it unwinds,
    // so that it ends only after the pile is gone.
    struct Unwinds {
        int& count;
        bool blocks;
        ~Unwinds()
        {
            if (blocks)
                eventlet::sleep(0);
            ++count;
        }
    };
    {
        RacingPile<int> pile(pool);
        pile.spawn([&] {
            Unwinds guard{unwound, false};
            never.wait();
            return 1;
        });
        pile.spawn([&] {
            Unwinds guard{unwound, true};
            never.wait();
            return 2;
        });
        eventlet::sleep(0); // both have started, and wait for ever
        REQUIRE(pool.running() == 2);
        pile.spawn([&] {
            unstarted_ran = true;
            return 3;
        });
    } // destroyed with two calls running and one not started yet
    run_until_idle();
    CHECK(unwound == 2);
    CHECK_FALSE(unstarted_ran);
    CHECK(pool.running() == 0);
}
