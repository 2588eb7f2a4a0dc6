// Exercise 1: a generator built on greenlets. The same test checks the
// starter (exercises/01-greenlets/generator.hpp), where it fails, and the
// reference solution (solutions/01-greenlets/generator.hpp), where it passes.
//
// Each test case has a TimeLimit: a generator whose loop never sees the end
// would otherwise spin for ever. Nothing here waits for time; the limit is
// only a failure bound.
#include <catch2/catch.hpp>

#include <generator.hpp>

#include <signal.h>
#include <unistd.h>

#include <any>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <string>
#include <vector>

using eventlet::Generator;
using eventlet::Greenlet;
using eventlet::Yield;

namespace {

/// How long a test case may run. Each takes microseconds; one still running
/// after this is stuck in a loop.
constexpr unsigned time_limit_seconds = 5;

/// What the end of a test case that ran out of time says (written by the
/// signal handler, which may only write what is ready).
char time_limit_message[1024];

extern "C" void time_limit_expired(int)
{
    const ssize_t written = ::write(STDERR_FILENO, time_limit_message, std::strlen(time_limit_message));
    (void)written;
    ::_exit(3);
}

/// Ends the run with a message if the test case it is made in still runs
/// after time_limit_seconds. There is no hub in chapter 1, and a loop that
/// spins never switches, so nothing can be thrown into it: SIGALRM ends the
/// process instead, after the message.
class TimeLimit {
public:
    TimeLimit()
    {
        std::snprintf(
            time_limit_message, sizeof time_limit_message,
            "\ntest_generator: the test case \"%s\" still ran after %u s, and the run was "
            "stopped.\nMost likely the loop never sees the end: once the body has finished, "
            "does resume() leave the previous value in the state, so that the iterator "
            "still finds one? See the hint \"Stale values\" in "
            "exercises/01-greenlets/README.md.\n",
            Catch::getResultCapture().getCurrentTestName().c_str(), time_limit_seconds);
        struct sigaction action {};
        action.sa_handler = time_limit_expired;
        ::sigaction(SIGALRM, &action, nullptr);
        ::alarm(time_limit_seconds);
    }
    ~TimeLimit() { ::alarm(0); }
    TimeLimit(const TimeLimit&) = delete;
    TimeLimit& operator=(const TimeLimit&) = delete;
};

// Records its own destruction, to prove that unwinding ran destructors.
struct Witness {
    std::vector<std::string>& log;
    ~Witness() { log.push_back("body's locals destroyed"); }
};

Generator<int> count_up(int from, int to)
{
    return Generator<int>([=](Yield<int>& yield) {
        for (int i = from; i < to; ++i)
            yield(i);
    });
}

// Yields lo..hi in order, as the in-order walk of a balanced binary tree
// whose nodes hold those numbers would: a recursive function, not a body.
void walk(int lo, int hi, Yield<int>& yield)
{
    if (lo > hi)
        return;
    const int middle = lo + (hi - lo) / 2;
    walk(lo, middle - 1, yield);
    yield(middle);
    walk(middle + 1, hi, yield);
}

} // namespace

TEST_CASE("a generator yields its values, in order, into a range-for loop", "[generator]")
{
    const TimeLimit limit;
    STATIC_REQUIRE(std::ranges::input_range<Generator<int>>);
    Generator<std::string> words([](Yield<std::string>& yield) {
        yield("one");
        yield("two");
        yield("three");
    });
    std::vector<std::string> seen;
    for (const std::string& word : words)
        seen.push_back(word);
    CHECK(seen == std::vector<std::string>{"one", "two", "three"});
}

TEST_CASE("the body runs only as far as the loop has read", "[generator]")
{
    const TimeLimit limit;
    std::vector<std::string> trace;
    Generator<int> numbers([&](Yield<int>& yield) {
        for (int i = 1; i <= 3; ++i) {
            trace.push_back("make " + std::to_string(i));
            yield(i);
        }
        trace.push_back("body returns");
    });
    CHECK(trace.empty()); // creating a generator runs nothing

    auto it = numbers.begin();
    REQUIRE(it != numbers.end());
    CHECK(*it == 1);
    CHECK(trace == std::vector<std::string>{"make 1"});

    ++it;
    REQUIRE(it != numbers.end());
    CHECK(*it == 2);
    CHECK(trace == std::vector<std::string>{"make 1", "make 2"});

    ++it;
    ++it;
    CHECK(it == numbers.end());
    CHECK(trace == std::vector<std::string>{"make 1", "make 2", "make 3", "body returns"});
}

TEST_CASE("a generator whose body yields nothing iterates as empty", "[generator]")
{
    const TimeLimit limit;
    bool ran = false;
    Generator<int> nothing([&](Yield<int>&) { ran = true; });
    int iterations = 0;
    for ([[maybe_unused]] int value : nothing)
        ++iterations;
    CHECK(iterations == 0);
    CHECK(ran);
}

TEST_CASE("an exception thrown by the body reaches the loop where it iterates", "[generator]")
{
    const TimeLimit limit;
    SECTION("after some values")
    {
        Generator<int> numbers([](Yield<int>& yield) {
            yield(1);
            yield(2);
            throw std::runtime_error("bad input");
        });
        std::vector<int> seen;
        CHECK_THROWS_WITH(
            [&] {
                for (int n : numbers)
                    seen.push_back(n);
            }(),
            "bad input");
        CHECK(seen == std::vector<int>{1, 2});
        CHECK(numbers.begin() == numbers.end()); // the body is finished
    }
    SECTION("before the first value: begin() throws")
    {
        Generator<int> numbers([](Yield<int>&) { throw std::runtime_error("no data"); });
        CHECK_THROWS_WITH(numbers.begin(), "no data");
    }
}

TEST_CASE("a generator destroyed half-way unwinds its body", "[generator]")
{
    const TimeLimit limit;
    std::vector<std::string> log;
    Greenlet* main = &Greenlet::current();
    {
        // An endless generator: only laziness lets this loop end.
        Generator<int> naturals([&](Yield<int>& yield) {
            Witness witness{log};
            for (int i = 0;; ++i) {
                yield(i);
                log.push_back("after " + std::to_string(i));
            }
        });
        for (int n : naturals)
            if (n == 2)
                break;
        CHECK(log == std::vector<std::string>{"after 0", "after 1"});
    }
    CHECK(log == std::vector<std::string>{"after 0", "after 1", "body's locals destroyed"});
    CHECK(&Greenlet::current() == main);
}

TEST_CASE("the end of a generator returns to whichever greenlet iterates it", "[generator]")
{
    const TimeLimit limit;
    // Created by this greenlet, iterated by another: when the body ends,
    // control must come back to the loop, not to the generator's creator.
    Generator<int> numbers = count_up(1, 4);
    Greenlet summer([&] {
        int sum = 0;
        for (int n : numbers)
            sum += n;
        return sum;
    });
    std::any result = summer.switch_to();
    REQUIRE(result.has_value());
    CHECK(std::any_cast<int>(result) == 6);
    CHECK(summer.dead());
}

TEST_CASE("yield works from any depth of nested calls, not only from the body itself",
          "[generator]")
{
    const TimeLimit limit;
    // A stackful coroutine's point: the in-order walk of a balanced binary
    // tree of 1..127 yields from seven levels of recursion.
    Generator<int> in_order([](Yield<int>& yield) { walk(1, 127, yield); });
    std::vector<int> seen;
    for (int n : in_order)
        seen.push_back(n);
    std::vector<int> expected(127);
    std::iota(expected.begin(), expected.end(), 1);
    CHECK(seen == expected);
}

TEST_CASE("a generator hands over move-only values without copying them", "[generator]")
{
    const TimeLimit limit;
    Generator<std::unique_ptr<int>> boxes([](Yield<std::unique_ptr<int>>& yield) {
        for (int i = 1; i <= 3; ++i)
            yield(std::make_unique<int>(i * 100));
    });
    std::vector<int> seen;
    for (std::unique_ptr<int>& box : boxes) {
        std::unique_ptr<int> mine = std::move(box);
        REQUIRE(mine != nullptr);
        seen.push_back(*mine);
    }
    CHECK(seen == std::vector<int>{100, 200, 300});
}
