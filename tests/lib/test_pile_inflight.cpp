// A GreenPile's spawn() that waits for a pool slot counts in the pile from
// the moment it starts waiting, as Eventlet's counter does: an iteration
// that reaches the end meanwhile waits for that call instead of ending. A
// spawn that throws instead (its caller killed) wakes the waiting reader,
// and a pile destroyed under a parked spawn() is not touched when it wakes.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenpile.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/timeout.hpp>

#include <optional>
#include <stdexcept>
#include <vector>

#include "../support/pile_helpers.hpp"

using eventlet::GreenPile;
using eventlet::GreenPool;
using eventlet::GreenThread;
using test_support::read_all;

namespace {

// Kills a green thread still alive when a test leaves early (a failed
// REQUIRE, a Timeout), so that it does not go on using the test's locals.
struct KillAtExit {
    GreenThread<void>& thread;
    ~KillAtExit()
    {
        if (!thread.dead())
            thread.kill();
    }
};

// A call that takes a turn of the hub before it returns its argument.
int after_a_turn(int value)
{
    eventlet::sleep(0);
    return value;
}

// A pool of one slot, held until `release`, and a green thread parked in
// pile.spawn(after_a_turn, 7) for that slot (it parks at the hub's next turn).
struct ParkedSpawn {
    ParkedSpawn() : spawner(eventlet::spawn([this] { pile.spawn(after_a_turn, 7); }))
    {
        pool.spawn_n([this] { release.wait(); });
    }

    GreenPool pool{1};
    GreenPile<int> pile{pool};
    eventlet::Event<> release;
    GreenThread<void> spawner;
    KillAtExit stop_spawner{spawner};
};

// Fills the only slot of `pile`'s pool with a call that waits for `never`,
// then parks a green thread in pile.spawn(call) for it; returns that thread.
template <class F>
GreenThread<void> park_a_spawn(GreenPile<int>& pile, eventlet::Event<>& never, F call)
{
    pile.spawn([&never] {
        never.wait();
        return 0;
    });
    auto spawner = eventlet::spawn([&pile, call] { pile.spawn(call); });
    eventlet::sleep(0); // the first call runs and blocks; the spawner parks
    REQUIRE(pile.pool().waiting() == 1);
    return spawner;
}

} // namespace

TEST_CASE("two piles on a pool of 2, each filled by its own green thread, yield all their calls "
          "(Eventlet's GreenPile test_constructing_from_pool)",
          "[greenpile]")
{
    eventlet::Timeout bound(10);
    GreenPool pool(2);
    GreenPile<int> pile1(pool);
    GreenPile<int> pile2(pool);
    const auto passthru = [](int a) {
        eventlet::sleep(0.01); // as Eventlet's passthru
        return a;
    };
    const auto bunch_of_work = [&](GreenPile<int>& pile, int unique) {
        for (int i = 0; i < 10; ++i)
            pile.spawn(passthru, i + unique);
    };
    auto filler1 = eventlet::spawn([&] { bunch_of_work(pile1, 0); });
    KillAtExit stop1{filler1};
    auto filler2 = eventlet::spawn([&] { bunch_of_work(pile2, 100); });
    KillAtExit stop2{filler2};
    eventlet::sleep(0);
    CHECK(read_all(pile2) == std::vector<int>{100, 101, 102, 103, 104, 105, 106, 107, 108, 109});
    CHECK(read_all(pile1) == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    CHECK(filler1.dead());
    CHECK(filler2.dead());
}

TEST_CASE("an iteration waits for the calls of a spawner parked for a pool slot", "[greenpile]")
{
    eventlet::Timeout bound(10);
    GreenPool pool(1);
    GreenPile<int> pile(pool);
    auto spawner = eventlet::spawn([&] {
        for (int i = 0; i < 3; ++i)
            pile.spawn(after_a_turn, i);
    });
    KillAtExit stop{spawner};
    eventlet::sleep(0); // it spawns the first call and parks for the second
    REQUIRE(pile.unread() == 1);
    REQUIRE(pool.waiting() == 1);
    CHECK(read_all(pile) == std::vector<int>{0, 1, 2});
    CHECK(spawner.dead());
}

TEST_CASE("a reader waiting for a parked spawner's call ends when the spawner is killed, "
          "after the results there are",
          "[greenpile]")
{
    eventlet::Timeout bound(10);
    GreenPool pool(1);
    GreenPile<int> pile(pool);
    eventlet::Event<> first_done;
    eventlet::Event<> release;
    pile.spawn([&] {
        first_done.wait();
        return 0;
    });
    // In the pool's line first: it takes the slot the first call gives back.
    auto blocker = eventlet::spawn([&] { pool.spawn_n([&] { release.wait(); }); });
    KillAtExit stop_blocker{blocker};
    bool killed_call_ran = false;
    auto spawner = eventlet::spawn([&] {
        pile.spawn([&] {
            killed_call_ran = true;
            return 1;
        });
    });
    KillAtExit stop_spawner{spawner};
    std::vector<int> read;
    auto reader = eventlet::spawn([&] {
        for (int x : pile)
            read.push_back(x);
    });
    KillAtExit stop_reader{reader};
    eventlet::sleep(0); // blocker and spawner park for the slot, the reader for the first call
    REQUIRE(pool.waiting() == 2);
    first_done.send();
    // Between a result and its next `++` the reader does not switch: once
    // it has one, it waits for the spawner's call.
    while (read.empty() || pool.waiting() > 1) // the blocker took the slot
        eventlet::sleep(0);
    REQUIRE(pool.waiting() == 1); // the spawner, still parked
    CHECK_FALSE(reader.dead());
    spawner.kill();
    reader.wait(); // does not hang: the killed spawn woke it
    CHECK(read == std::vector<int>{0});
    CHECK(pile.unread() == 0);
    CHECK(pile.begin() == pile.end());
    release.send();
    pool.waitall();
    CHECK_FALSE(killed_call_ran);
    CHECK(pool.running() == 0);
    CHECK(pool.waiting() == 0);
}

TEST_CASE("two readers waiting for a parked spawner's call: one gets it, both loops end",
          "[greenpile]")
{
    eventlet::Timeout bound(10);
    ParkedSpawn parked;
    std::vector<int> read;
    int loops_ended = 0;
    const auto reader = [&] {
        for (int x : parked.pile)
            read.push_back(x);
        ++loops_ended;
    };
    auto reader1 = eventlet::spawn(reader);
    KillAtExit stop_reader1{reader1};
    auto reader2 = eventlet::spawn(reader);
    KillAtExit stop_reader2{reader2};
    eventlet::sleep(0); // the spawner parks for the slot, both readers for its call
    REQUIRE(parked.pool.waiting() == 1);
    CHECK(loops_ended == 0);
    parked.release.send();
    reader1.wait();
    reader2.wait();
    CHECK(read == std::vector<int>{7});
    CHECK(loops_ended == 2);
    CHECK(parked.spawner.dead());
}

TEST_CASE("a reader interrupted while it waits for a parked spawner's call loses nothing",
          "[greenpile]")
{
    eventlet::Timeout bound(10);
    ParkedSpawn parked;
    eventlet::sleep(0); // the spawner parks for the slot
    REQUIRE(parked.pool.waiting() == 1);
    {
        eventlet::Timeout limit(0.001);
        CHECK_THROWS_AS(parked.pile.begin(), eventlet::TimeoutError);
    }
    parked.release.send();
    CHECK(read_all(parked.pile) == std::vector<int>{7});
}

TEST_CASE("a pile destroyed while a spawn() is parked for a slot: the spawn adds nothing and "
          "its call never runs",
          "[greenpile]")
{
    eventlet::Timeout bound(10);
    eventlet::Event<> never;
    bool parked_call_ran = false;
    const auto parked_call = [&] {
        parked_call_ran = true;
        return 1;
    };

    SECTION("on a shared pool: the spawn gets a slot after the pile is gone, and returns")
    {
        GreenPool pool(1);
        std::optional<GreenThread<void>> spawner;
        {
            GreenPile<int> pile(pool);
            spawner = park_a_spawn(pile, never, parked_call);
        } // kills the first call, whose slot goes to the spawner
        KillAtExit stop_spawner{*spawner};
        spawner->wait();
        pool.waitall();
        CHECK(pool.running() == 0);
    }
    SECTION("on the pile's own pool: the spawn throws std::logic_error, as the pool's does")
    {
        std::optional<GreenThread<void>> spawner;
        {
            GreenPile<int> pile(1);
            spawner = park_a_spawn(pile, never, parked_call);
        }
        KillAtExit stop_spawner{*spawner};
        CHECK_THROWS_AS(spawner->wait(), std::logic_error);
    }
    CHECK_FALSE(parked_call_ran);
}
