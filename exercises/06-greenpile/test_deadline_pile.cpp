// The exercise of chapter 6: a pile whose calls each have a time limit.
//
// A call meant to run out of time waits on an Event that nobody sends, so
// only its deadline can end it; a call meant to finish in time never waits
// on the clock at all, except in the one test about when the clock starts.
// A wrong pile that waits for something that never comes makes the hub
// throw eventlet::Deadlock, which fails the test instead of hanging it.
#include <catch2/catch.hpp>

#include <deadline_pile.hpp>

#include <eventlet/errors.hpp>
#include <eventlet/event.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/timeout.hpp>

#include <stdexcept>
#include <string>
#include <vector>

using eventlet::GreenPool;
using exercise::DeadlinePile;

namespace {

/// Reads a pile to its end.
template <class T>
std::vector<T> read_all(DeadlinePile<T>& pile)
{
    std::vector<T> results;
    for (const T& x : pile)
        results.push_back(x);
    return results;
}

/// Sets a flag when destroyed: shows that a call cut off has unwound.
struct Unwound {
    bool& flag;
    ~Unwound() { flag = true; }
};

} // namespace

TEST_CASE("calls that finish in time yield their results in spawn order", "[deadline]")
{
    GreenPool pool(4);
    DeadlinePile<std::string> pile(pool, 5.0, "(no answer)");
    eventlet::Event<void> first_may_finish;
    pile.spawn([&] {
        first_may_finish.wait();
        return "first";
    });
    pile.spawn([&](const std::string& name) {
        first_may_finish.send();
        return name;
    }, std::string("second"));
    CHECK(pile.unread() == 2);
    CHECK(read_all(pile) == std::vector<std::string>{"first", "second"});
    CHECK(pile.unread() == 0);
    CHECK(pile.cut_off() == 0);
}

TEST_CASE("a call still running at its deadline unwinds and yields the placeholder",
          "[deadline]")
{
    GreenPool pool(4);
    DeadlinePile<int> pile(pool, 0.02, -1);
    eventlet::Event<void> never;
    bool unwound = false;
    pile.spawn([] { return 1; });
    pile.spawn([&] {
        Unwound guard{unwound};
        never.wait();
        return 2;
    });
    pile.spawn([] { return 3; });
    CHECK(read_all(pile) == std::vector<int>{1, -1, 3});
    CHECK(unwound);
    CHECK(pile.cut_off() == 1);
    CHECK(pool.free() == 4);
}

TEST_CASE("the slot of a call cut off goes back to the pool for the next call", "[deadline]")
{
    // One slot: the second call can only start once the first has given up.
    GreenPool pool(1);
    DeadlinePile<int> pile(pool, 0.02, -1);
    eventlet::Event<void> never;
    pile.spawn([&] {
        never.wait();
        return 1;
    });
    pile.spawn([] { return 2; });
    CHECK(read_all(pile) == std::vector<int>{-1, 2});
    CHECK(pile.cut_off() == 1);
}

TEST_CASE("a call's clock starts when it runs, not while it waits for a slot", "[deadline]")
{
    // One slot, three calls of 0.6 of the limit each: each is in time from
    // its own start, and the last two would be late counted from spawn().
    GreenPool pool(1);
    const double limit = 0.25;
    DeadlinePile<int> pile(pool, limit, -1);
    for (int id = 1; id <= 3; ++id)
        pile.spawn([id, limit] {
            eventlet::sleep(0.6 * limit);
            return id;
        });
    CHECK(read_all(pile) == std::vector<int>{1, 2, 3});
    CHECK(pile.cut_off() == 0);
}

TEST_CASE("a timeout of the call's own is an error at its position, not a placeholder",
          "[deadline]")
{
    GreenPool pool(4);
    DeadlinePile<int> pile(pool, 5.0, -1);
    eventlet::Event<void> never;
    pile.spawn([] { return 1; });
    pile.spawn([&] {
        eventlet::Timeout own(0.001); // not caught: the call fails with it
        never.wait();
        return 2;
    });
    pile.spawn([] { return 3; });
    auto it = pile.begin();
    CHECK(*it == 1);
    CHECK_THROWS_AS(++it, eventlet::TimeoutError);
    ++it;
    REQUIRE(it != pile.end());
    CHECK(*it == 3);
    ++it;
    CHECK(it == pile.end());
    CHECK(pile.cut_off() == 0);
}

TEST_CASE("a call that throws rethrows at its position and the pile goes on", "[deadline]")
{
    GreenPool pool(4);
    DeadlinePile<int> pile(pool, 5.0, -1);
    pile.spawn([]() -> int { throw std::runtime_error("feed down"); });
    pile.spawn([] { return 2; });
    CHECK_THROWS_WITH(pile.begin(), "feed down");
    auto it = pile.begin();
    REQUIRE(it != pile.end());
    CHECK(*it == 2);
    CHECK(pile.cut_off() == 0);
}

TEST_CASE("a reader's own timeout around the pile is not taken for a call's deadline",
          "[deadline]")
{
    // The reader gives up on the whole pile before any call's limit: that
    // is the reader's timeout, which reaches the reader, and no call has
    // been cut off.
    // Declared before the pile, so destroyed after it: the pile kills the
    // call still waiting on it first (a waitable destroyed under a waiter
    // aborts, chapter 3).
    eventlet::Event<void> never;
    GreenPool pool(4);
    DeadlinePile<int> pile(pool, 5.0, -1);
    pile.spawn([&] {
        never.wait();
        return 1;
    });
    {
        eventlet::Timeout reader(0.01);
        CHECK_THROWS_AS(pile.begin(), eventlet::TimeoutError);
        CHECK(reader.expired());
    }
    CHECK(pile.cut_off() == 0);
    CHECK(pile.unread() == 1);
}
