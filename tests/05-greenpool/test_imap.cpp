// Chapter 5: GreenPool::imap and starmap: order, bounds, laziness, early stops, errors.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/timeout.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <list>
#include <ranges>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
// In libasan, but GCC 12 ships no header that declares it.
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

#include "../support/hub_helpers.hpp"
#include "concurrency.hpp"

using eventlet::GreenPool;
using pool_test::Concurrency;

namespace {

// An input range that counts how far it has been read, and can be told to
// throw at one position.
class CountingInput {
public:
    struct iterator {
        using value_type = int;
        using difference_type = std::ptrdiff_t;
        CountingInput* input = nullptr;
        int value = 0;
        int operator*() const
        {
            if (value == input->throw_at)
                throw std::runtime_error("input failed at " + std::to_string(value));
            return value;
        }
        iterator& operator++()
        {
            ++value;
            input->read = std::max(input->read, value);
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& it, std::default_sentinel_t)
        {
            return it.input->stop_at >= 0 && it.value >= it.input->stop_at;
        }
    };
    iterator begin() { return iterator{this, 0}; }
    std::default_sentinel_t end() { return {}; }

    int stop_at = -1; // -1: endless
    int throw_at = -1;
    int read = 0;
};

#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer keeps freed memory in quarantine (up to 256 MiB) and
// gives each green thread's frames a fake stack, so the resident size says
// nothing about what the program holds; its allocator's count of live
// bytes does.
std::size_t memory_in_use() { return __sanitizer_get_current_allocated_bytes(); }
#else
std::size_t memory_in_use()
{
    std::ifstream statm("/proc/self/statm");
    std::size_t pages_total = 0;
    std::size_t pages_resident = 0;
    statm >> pages_total >> pages_resident;
    return pages_resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}
#endif

} // namespace

static_assert(std::input_iterator<CountingInput::iterator>);

TEST_CASE("imap yields results in input order when later calls finish first", "[greenpool][imap]")
{
    GreenPool pool(10);
    const std::vector<int> inputs{1, 2, 3, 4, 5, 6, 7, 8};
    std::vector<int> finish_order;
    std::vector<int> results;
    for (int square : pool.imap(
             [&](int x) {
                 // The last input finishes first: each call waits until every
                 // later one has finished (by turns, not by timers, which a
                 // loaded machine can fire out of order).
                 while (static_cast<int>(finish_order.size()) < 8 - x)
                     eventlet::sleep(0);
                 finish_order.push_back(x);
                 return x * x;
             },
             inputs))
        results.push_back(square);
    CHECK(results == std::vector<int>{1, 4, 9, 16, 25, 36, 49, 64});
    CHECK(finish_order == std::vector<int>{8, 7, 6, 5, 4, 3, 2, 1});
}

TEST_CASE("imap never has more calls in flight than the pool's size", "[greenpool][imap]")
{
    GreenPool pool(3);
    Concurrency calls;
    int consumed = 0;
    for (int result : pool.imap(
             [&](int x) {
                 calls.enter();
                 eventlet::sleep(0.0001 * (x % 4));
                 calls.leave();
                 return x;
             },
             std::views::iota(0, 50))) {
        CHECK(result == consumed);
        ++consumed;
    }
    CHECK(consumed == 50);
    CHECK(calls.peak == 3);
    CHECK(pool.running() == 0);
}

TEST_CASE("imap reads its input lazily: an endless input with a consumer that stops after 10",
          "[greenpool][imap]")
{
    GreenPool pool(4);
    CountingInput endless;
    std::vector<int> seen;
    for (int x : pool.imap([](int x) { return x * 10; }, endless)) {
        seen.push_back(x);
        if (seen.size() == 10)
            break;
    }
    CHECK(seen == std::vector<int>{0, 10, 20, 30, 40, 50, 60, 70, 80, 90});
    // Ten consumed, at most a pool's worth more started.
    CHECK(endless.read <= 10 + 4);
    test_support::run_until_idle();
    CHECK(pool.running() == 0);
}

TEST_CASE("a consumer that stops early stops the calls it will not read", "[greenpool][imap]")
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
        auto results = pool.imap(
            [&](int x) {
                ++started;
                Unwinds guard{unwound};
                if (x > 0)
                    never.wait(); // only the first call ever returns
                return x;
            },
            std::views::iota(0));
        auto it = results.begin();
        CHECK(*it == 0);
        eventlet::sleep(0); // the others have started and block
        CHECK(pool.running() == 4);
    } // the Imap goes: its blocked calls are killed and unwind
    CHECK(unwound == started);
    CHECK(pool.running() == 0);
    pool.waitall(); // and nothing is left to wait for
}

TEST_CASE("an exception in the loop body neither hangs nor leaks the calls", "[greenpool][imap]")
{
    GreenPool pool(8);
    eventlet::Event<void> never;
    const auto consume = [&] {
        for (int x : pool.imap(
                 [&](int x) {
                     if (x > 2)
                         never.wait();
                     return x;
                 },
                 std::views::iota(0, 100)))
            if (x == 2)
                throw std::runtime_error("consumer gave up");
    };
    CHECK_THROWS_WITH(consume(), "consumer gave up");
    CHECK(pool.running() == 0);
}

TEST_CASE("a call that throws rethrows at its position, and iteration can go on",
          "[greenpool][imap]")
{
    GreenPool pool(4);
    auto results = pool.imap(
        [](int x) {
            if (x == 2)
                throw std::runtime_error("call 2 failed");
            return x;
        },
        std::views::iota(0, 5));
    auto it = results.begin();
    CHECK(*it == 0);
    ++it;
    CHECK(*it == 1);
    CHECK_THROWS_WITH(++it, "call 2 failed");
    ++it;
    CHECK(*it == 3);
    ++it;
    CHECK(*it == 4);
    ++it;
    CHECK(it == results.end());
}

TEST_CASE("an input that throws delivers the exception at its position", "[greenpool][imap]")
{
    GreenPool pool(4);
    CountingInput input;
    input.throw_at = 3;
    std::vector<int> seen;
    const auto consume = [&] {
        for (int x : pool.imap([](int x) { return x; }, input))
            seen.push_back(x);
    };
    CHECK_THROWS_WITH(consume(), "input failed at 3");
    CHECK(seen == std::vector<int>{0, 1, 2});
    CHECK(pool.running() == 0);
}

TEST_CASE("imap over several ranges takes their elements in step, up to the shortest",
          "[greenpool][imap]")
{
    GreenPool pool(2);
    const std::vector<std::string> names{"a", "b", "c"};
    const std::list<int> counts{1, 2, 3, 4};
    std::vector<std::string> joined;
    for (auto& s : pool.imap([](const std::string& name, int n) { return name + std::to_string(n); },
                             names, counts))
        joined.push_back(s);
    CHECK(joined == std::vector<std::string>{"a1", "b2", "c3"});
}

TEST_CASE("starmap unpacks each tuple into the arguments", "[greenpool][imap]")
{
    GreenPool pool(3);
    const std::vector<std::tuple<int, int>> pairs{{1, 2}, {3, 4}, {5, 6}};
    std::vector<int> sums;
    for (int sum : pool.starmap([](int a, int b) { return a + b; }, pairs))
        sums.push_back(sum);
    CHECK(sums == std::vector<int>{3, 7, 11});
}

TEST_CASE("imap over an empty input yields nothing", "[greenpool][imap]")
{
    GreenPool pool(3);
    const std::vector<int> none;
    auto results = pool.imap([](int x) { return x; }, none);
    CHECK(results.begin() == results.end());
}

TEST_CASE("iterating an imap consumes its results", "[greenpool][imap]")
{
    GreenPool pool(3);
    auto results = pool.imap([](int x) { return x; }, std::views::iota(0, 3));
    int count = 0;
    for ([[maybe_unused]] int x : results)
        ++count;
    CHECK(count == 3);
    CHECK(results.begin() == results.end()); // iterating consumed them

}

TEST_CASE("imap's calls are the pool's: they count in running() and share its slots",
          "[greenpool][imap]")
{
    GreenPool pool(3);
    eventlet::Event<void> release;
    pool.spawn_n([&] { release.wait(); });
    pool.spawn_n([&] { release.wait(); });
    Concurrency calls;
    auto results = pool.imap(
        [&](int x) {
            calls.enter();
            eventlet::sleep(0);
            calls.leave();
            return x;
        },
        std::views::iota(0, 6));
    int sum = 0;
    for (int x : results)
        sum += x;
    CHECK(sum == 15);
    CHECK(calls.peak == 1); // two of the three slots were taken
    release.send();
    pool.waitall();
}

TEST_CASE("imap from a green thread of its own full pool does not deadlock", "[greenpool][imap]")
{
    GreenPool pool(1);
    auto outer = pool.spawn([&] {
        int sum = 0;
        for (int x : pool.imap([](int x) { return x; }, std::views::iota(1, 5)))
            sum += x;
        return sum;
    });
    CHECK(outer.wait() == 10);
}

TEST_CASE("imap's memory stays flat over 1,000,000 inputs", "[greenpool][imap][memory]")
{
    GreenPool pool(1000);
    constexpr long long count = 1'000'000;
    long long sum = 0;
    long long seen = 0;
    std::size_t after_warm_up = 0;
    std::size_t peak = 0;
    for (long long x : pool.imap([](long long x) { return x; }, std::views::iota(0LL, count))) {
        sum += x;
        ++seen;
        if (seen == 50'000)
            after_warm_up = memory_in_use();
        if (seen > 50'000 && seen % 50'000 == 0)
            peak = std::max(peak, memory_in_use());
    }
    CHECK(sum == count * (count - 1) / 2);
    INFO("in use after 50,000: " << after_warm_up << " bytes, peak after: " << peak);
    // Buffering the results or the handles would grow by tens of megabytes.
    CHECK(peak < after_warm_up + 8 * 1024 * 1024);
}

TEST_CASE("an imap destroyed early stops a call that had not started even while it kills others",
          "[greenpool][imap]")
{
    GreenPool pool(3);
    eventlet::Event<void> never;
    std::vector<int> started;
    {
        auto results = pool.imap(
            [&](int x) {
                started.push_back(x);
                if (x == 2)
                    never.wait();
                return x;
            },
            std::views::iota(0, 6));
        auto it = results.begin(); // calls 0, 1, 2 run; 2 blocks
        CHECK(*it == 0);
        ++it; // starts call 3 in the slot of call 0, and finds call 1 done
        CHECK(*it == 1);
        REQUIRE(started == std::vector<int>{0, 1, 2});
    } // call 2 is killed; call 3, spawned but not started, must never run
    test_support::run_until_idle();
    CHECK(started == std::vector<int>{0, 1, 2});
    CHECK(pool.running() == 0);
}

TEST_CASE("an imap reader interrupted while it waits loses no result", "[greenpool][imap]")
{
    GreenPool pool(4);
    eventlet::Event<void> release;
    auto results = pool.imap(
        [&](int x) {
            release.wait();
            return x;
        },
        std::views::iota(0, 3));
    {
        eventlet::Timeout limit(0.001);
        CHECK_THROWS_AS(results.begin(), eventlet::TimeoutError);
    }
    release.send();
    auto it = results.begin();
    std::vector<int> seen;
    for (; it != results.end(); ++it)
        seen.push_back(*it);
    CHECK(seen == std::vector<int>{0, 1, 2});
}

TEST_CASE("a consumer killed while imap starts calls is killed, not handed on as an input error",
          "[greenpool][imap]")
{
    GreenPool pool(2);
    std::vector<eventlet::Event<void>> gates(10);
    std::vector<int> seen;
    auto consumer = eventlet::spawn([&] {
        for (int x : pool.imap(
                 [&](int x) {
                     gates[static_cast<std::size_t>(x)].wait();
                     return x;
                 },
                 std::views::iota(0, 10)))
            seen.push_back(x);
    });
    eventlet::sleep(0); // calls 0 and 1 run: the pool is full
    auto other = eventlet::spawn([&] { pool.spawn([] {}); });
    eventlet::sleep(0); // `other` waits in line for a slot
    gates[0].send();
    other.wait(); // the slot of call 0 went to `other`, first in line
    consumer.kill();
    CHECK_THROWS_AS(consumer.wait(), eventlet::GreenletExit); // not left running
    gates[1].send();
    test_support::run_until_idle();
    CHECK(seen == std::vector<int>{0});
    CHECK(pool.running() == 0);
}
