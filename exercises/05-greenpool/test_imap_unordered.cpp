// The exercise of chapter 5: imap_unordered, results in completion order.
//
// No test waits for time. Where a test needs calls to finish in a known
// order, each call yields to the hub a number of times (sleep(0)): the hub
// runs ready green threads first in, first out, so a call that yields fewer
// times finishes first, on any machine. Where a call must stay busy, it
// waits on an Event that the test sends (or never sends).
#include <catch2/catch.hpp>

#include <imap_unordered.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/hub.hpp>

#include <algorithm>
#include <ranges>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using eventlet::GreenPool;
using exercise::imap_unordered;

// Yields to the hub `times` times.
void yield(int times)
{
    for (int i = 0; i < times; ++i)
        eventlet::sleep(0);
}

// Runs the hub until nothing is left that could wake anyone.
void run_until_idle()
{
    try {
        eventlet::Hub::current().switch_to();
    } catch (const eventlet::Deadlock&) {
    }
}

// Counts the calls running at once, and the most ever seen.
struct Concurrency {
    int now = 0;
    int peak = 0;
    void enter() { peak = std::max(peak, ++now); }
    void leave() { --now; }
};

std::vector<int> sorted(std::vector<int> values)
{
    std::sort(values.begin(), values.end());
    return values;
}

} // namespace

TEST_CASE("results arrive in the order the calls finish, not in input order",
          "[imap_unordered]")
{
    GreenPool pool(8);
    std::vector<int> results;
    for (int x : imap_unordered(
             pool,
             [](int x) {
                 yield(6 - x); // the last input finishes first
                 return x;
             },
             std::views::iota(0, 6)))
        results.push_back(x);
    CHECK(results == std::vector<int>{5, 4, 3, 2, 1, 0});
}

TEST_CASE("a slow call does not hold up the results of the calls after it", "[imap_unordered]")
{
    // With results in input order, this would deadlock: the slow call is
    // released only once the three after it have been consumed.
    GreenPool pool(4);
    eventlet::Event<void> release_slow;
    std::vector<int> results;
    for (int x : imap_unordered(
             pool,
             [&](int x) {
                 if (x == 0)
                     release_slow.wait();
                 return x;
             },
             std::views::iota(0, 4))) {
        results.push_back(x);
        if (results.size() == 3)
            release_slow.send();
    }
    REQUIRE(results.size() == 4);
    CHECK(sorted({results.begin(), results.begin() + 3}) == std::vector<int>{1, 2, 3});
    CHECK(results.back() == 0);
}

TEST_CASE("no more calls run at once than the pool's size", "[imap_unordered]")
{
    GreenPool pool(3);
    Concurrency calls;
    std::vector<int> results;
    for (int x : imap_unordered(
             pool,
             [&](int x) {
                 calls.enter();
                 yield(x % 4);
                 calls.leave();
                 return x;
             },
             std::views::iota(0, 30)))
        results.push_back(x);
    std::vector<int> expected(30);
    for (int i = 0; i < 30; ++i)
        expected[i] = i;
    CHECK(sorted(results) == expected);
    CHECK(calls.peak == 3);
    CHECK(pool.running() == 0);
}

TEST_CASE("the input is read lazily: an endless input, and a consumer that stops after 10",
          "[imap_unordered]")
{
    GreenPool pool(4);
    int read = 0;
    auto endless = std::views::iota(0) | std::views::transform([&read](int x) {
                       ++read;
                       return x;
                   });
    std::vector<int> results;
    for (int x : imap_unordered(pool, [](int x) { return x * 10; }, endless)) {
        results.push_back(x);
        if (results.size() == 10)
            break;
    }
    CHECK(results.size() == 10);
    // Ten consumed, at most a pool's worth more started.
    CHECK(read <= 10 + 4);
    run_until_idle();
    CHECK(pool.running() == 0);
}

TEST_CASE("a call that throws rethrows from ++, and the other results still arrive",
          "[imap_unordered]")
{
    GreenPool pool(8);
    auto results = imap_unordered(
        pool,
        [](int x) {
            yield(x); // finish in input order, so the failure comes third
            if (x == 2)
                throw std::runtime_error("call 2 failed");
            return x;
        },
        std::views::iota(0, 5));
    auto it = results.begin();
    REQUIRE(it != results.end());
    CHECK(*it == 0);
    ++it;
    REQUIRE(it != results.end());
    CHECK(*it == 1);
    CHECK_THROWS_WITH(++it, "call 2 failed");
    ++it;
    REQUIRE(it != results.end());
    CHECK(*it == 3);
    ++it;
    REQUIRE(it != results.end());
    CHECK(*it == 4);
    ++it;
    CHECK(it == results.end());
}

TEST_CASE("a consumer that stops early stops the calls it will not read", "[imap_unordered]")
{
    GreenPool pool(5);
    eventlet::Event<void> never;
    int started = 0;
    int unwound = 0;
    struct Unwinds {
        int& count;
        ~Unwinds() { ++count; }
    };
    {
        auto results = imap_unordered(
            pool,
            [&](int x) {
                ++started;
                Unwinds guard{unwound};
                if (x > 0)
                    never.wait(); // only the first call ever returns
                return x;
            },
            std::views::iota(0));
        auto it = results.begin();
        REQUIRE(it != results.end());
        CHECK(*it == 0);
        eventlet::sleep(0); // the others have started, and block
        CHECK(pool.running() == 4);
    } // gone: its blocked calls are killed, and unwind
    CHECK(started == 5);
    CHECK(unwound == started);
    CHECK(pool.running() == 0);
    pool.waitall(); // nothing is left to wait for
}

TEST_CASE("a call spawned but not yet started when the range is destroyed never runs",
          "[imap_unordered]")
{
    // Calls 0 and 1 return at once, 2 and 3 block. Reading two results
    // frees two slots, so the consumer spawns call 4 (and maybe 5); the range
    // is destroyed before the hub has started it. Each kill() of call 2 or 3
    // yields to the hub, and in that turn the hub starts any call still
    // ready to run: the not-started ones must be cancelled before any kill.
    eventlet::Event<void> never;
    GreenPool pool(4);
    std::vector<int> ran;
    {
        auto results = imap_unordered(
            pool,
            [&](int x) {
                ran.push_back(x);
                if (x == 2 || x == 3)
                    never.wait();
                return x;
            },
            std::views::iota(0));
        auto it = results.begin();
        REQUIRE(it != results.end());
        ++it;
        REQUIRE(it != results.end());
        CHECK(sorted(ran) == std::vector<int>{0, 1, 2, 3}); // 4 is spawned, not started
    } // gone: 2 and 3 are killed; 4 (and 5) must never start
    run_until_idle();
    CHECK(sorted(ran) == std::vector<int>{0, 1, 2, 3});
    CHECK(pool.running() == 0);
    pool.waitall(); // nothing is left to wait for
}

TEST_CASE("a call killed by the range's destructor may park as it unwinds, and outlive the range",
          "[imap_unordered]")
{
    // Call 1 blocks; the range is destroyed, and kills it. Its cleanup parks
    // once while it unwinds (as a graceful close of a connection would), so
    // the destructor's kill() returns and the range is gone before call 1
    // has finished: whatever it touches after that must not be the range's.
    eventlet::Event<void> never;
    GreenPool pool(2);
    int unwound = 0;
    struct ParksAsItUnwinds {
        int& count;
        ~ParksAsItUnwinds()
        {
            eventlet::sleep(0);
            ++count;
        }
    };
    {
        auto results = imap_unordered(
            pool,
            [&](int x) {
                ParksAsItUnwinds cleanup{unwound};
                if (x == 1)
                    never.wait();
                return x;
            },
            std::views::iota(0, 2));
        auto it = results.begin();
        REQUIRE(it != results.end());
        CHECK(*it == 0);
    } // gone: call 1 is killed, and is still unwinding
    run_until_idle();
    CHECK(unwound == 2);
    CHECK(pool.running() == 0);
}

TEST_CASE("an input that throws ends the iteration with its exception, after the calls "
          "already started",
          "[imap_unordered]")
{
    GreenPool pool(8);
    auto failing = std::views::iota(0) | std::views::transform([](int x) {
                       if (x == 3)
                           throw std::runtime_error("input failed at 3");
                       return x;
                   });
    std::vector<int> results;
    const auto consume = [&] {
        for (int x : imap_unordered(pool, [](int x) { return x; }, failing))
            results.push_back(x);
    };
    CHECK_THROWS_WITH(consume(), "input failed at 3");
    CHECK(sorted(results) == std::vector<int>{0, 1, 2});
    CHECK(pool.running() == 0);
}

TEST_CASE("imap_unordered over an empty input yields nothing", "[imap_unordered]")
{
    GreenPool pool(3);
    const std::vector<int> none;
    auto results = imap_unordered(pool, [](int x) { return x; }, none);
    CHECK(results.begin() == results.end());
}
