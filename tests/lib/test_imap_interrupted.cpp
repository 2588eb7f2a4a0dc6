// An imap reader interrupted while it waits for a pool slot to start the
// next call (a Timeout, a kill with GreenletExit or with an exception of
// its own) loses no input: imap had already read that input's element, and
// the interruption used to drop it with the spawn() that threw, so that its
// result never came. Iterating again, by the same reader or another, now
// goes on with that input, and every result comes once, in input order.
// A call that runs inline in the reader (a green thread of its own full
// pool) and is ended by the reader's kill is not run again: that kill is
// its result.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenlet.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/timeout.hpp>

#include <cstddef>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <ranges>
#include <stdexcept>
#include <vector>

using eventlet::GreenPool;
using eventlet::GreenThread;

// The helpers and the tests in a namespace of their own: tests/lib is
// compiled as one unit, whose other files may use the same names.
namespace imap_interrupted_test {

/// What a test throws into a reader by kill(): an exception that is neither
/// GreenletExit nor TimeoutError, so that nothing in the library can take it
/// for a kill or a Timeout of its own.
struct ReaderStopped : std::runtime_error {
    ReaderStopped() : std::runtime_error("reader stopped by the test") {}
};

/// Holds every free slot of a pool until release(), so that whoever spawns
/// into it meanwhile parks for a slot: the blocking point under test.
class SlotHog {
public:
    /// Takes the slots free now (none of the spawns parks, as they are free).
    explicit SlotHog(GreenPool& pool)
    {
        while (pool.free() > 0)
            holders_.push_back(pool.spawn([gate = gate_] { gate->wait(); }));
    }
    /// Gives the slots back if a test leaves early (a failed REQUIRE).
    ~SlotHog()
    {
        if (!released_)
            release();
    }
    SlotHog(const SlotHog&) = delete;
    SlotHog& operator=(const SlotHog&) = delete;

    /// Gives the slots back, and returns once every holder has ended.
    void release()
    {
        released_ = true;
        gate_->send();
        for (auto& holder : holders_)
            holder.wait();
    }

private:
    // Shared with the holders, which may outlive a hog destroyed by a failure.
    std::shared_ptr<eventlet::Event<>> gate_ = std::make_shared<eventlet::Event<>>();
    std::vector<GreenThread<void>> holders_;
    bool released_ = false;
};

/// Kills a reader still alive when a test leaves early, so that it does not
/// go on using the test's locals.
struct ReaderGuard {
    GreenThread<void>& reader;
    ~ReaderGuard()
    {
        if (!reader.dead())
            reader.kill();
    }
};

/// A reader green thread that takes one result from `results` (or notes the
/// end) into `seen`. It returns only once it has parked in the imap or is
/// done: it waits for the reader's signal, sent just before the reader
/// calls begin(), and the hub runs the waiter only after the reader parks.
template <class Results>
GreenThread<void> spawn_parked_reader(Results& results, std::vector<int>& seen, bool& ended)
{
    auto about_to_read = std::make_shared<eventlet::Event<>>();
    auto reader = eventlet::spawn([&results, &seen, &ended, about_to_read] {
        about_to_read->send();
        auto it = results.begin();
        if (it == results.end())
            ended = true;
        else
            seen.push_back(*it);
    });
    about_to_read->wait();
    return reader;
}

/// The inputs 0 .. count-1, in order.
std::vector<int> first_inputs(int count)
{
    std::vector<int> inputs(static_cast<std::size_t>(count));
    std::iota(inputs.begin(), inputs.end(), 0);
    return inputs;
}

TEST_CASE("an imap reader timed out while it waits for a pool slot loses no input", "[imap]")
{
    GreenPool pool(1);
    std::vector<int> calls(3, 0);
    auto results = pool.imap(
        [&](int x) {
            ++calls[static_cast<std::size_t>(x)];
            return x;
        },
        std::views::iota(0, 3));
    SlotHog other_work(pool); // holds the only slot
    {
        eventlet::Timeout limit(0.01);
        CHECK_THROWS_AS(results.begin(), eventlet::TimeoutError); // parked in spawn for input 0
    }
    CHECK(calls == std::vector<int>{0, 0, 0});
    other_work.release();
    std::vector<int> seen;
    for (auto it = results.begin(); it != results.end(); ++it)
        seen.push_back(*it);
    CHECK(seen == std::vector<int>{0, 1, 2});
    CHECK(calls == std::vector<int>{1, 1, 1});
}

TEST_CASE("an imap reader killed while it waits for a pool slot hands its input to the next reader",
          "[imap]")
{
    const bool second_reader_waits_meanwhile = GENERATE(false, true);
    INFO("second reader already waiting when the first is killed: " << second_reader_waits_meanwhile);
    GreenPool pool(1);
    std::vector<int> calls(4, 0);
    auto results = pool.imap(
        [&](int x) {
            ++calls[static_cast<std::size_t>(x)];
            return x;
        },
        std::views::iota(0, 4));
    std::vector<int> seen;
    bool ended = false;
    // The first reader takes result 0, then parks in spawn for input 1.
    {
        auto it = results.begin();
        REQUIRE(*it == 0);
        seen.push_back(*it);
    }
    SlotHog other_work(pool);
    auto first = spawn_parked_reader(results, seen, ended);
    ReaderGuard stop_first{first};
    REQUIRE(pool.waiting() == 1);
    std::optional<GreenThread<void>> second;
    if (second_reader_waits_meanwhile) {
        second = spawn_parked_reader(results, seen, ended); // waits for the first one's spawn
        CHECK(pool.waiting() == 1);
    }
    first.kill(std::make_exception_ptr(ReaderStopped{}));
    CHECK_THROWS_AS(first.wait(), ReaderStopped);
    CHECK(seen == std::vector<int>{0});
    if (!second)
        second = spawn_parked_reader(results, seen, ended);
    ReaderGuard stop_second{*second};
    other_work.release();
    second->wait();
    CHECK(seen == std::vector<int>{0, 1});
    for (auto it = results.begin(); it != results.end(); ++it)
        seen.push_back(*it);
    CHECK(seen == std::vector<int>{0, 1, 2, 3});
    CHECK(calls == std::vector<int>{1, 1, 1, 1});
    CHECK_FALSE(ended);
}

TEST_CASE("an imap read through many interruptions yields every input once, in order", "[imap]")
{
    const std::size_t pool_size = GENERATE(1u, 3u);
    const unsigned seed = GENERATE(1u, 2u, 3u);
    INFO("pool of " << pool_size << ", seed " << seed);
    constexpr int count = 40;
    GreenPool pool(pool_size);
    std::vector<int> calls(count, 0);
    // Each call ends once the test opens its gate, so that the reader of its
    // result can be made to wait for it, and later calls can end first. (An
    // input lost shows as a Deadlock: the reader waits for the next call,
    // whose gate the test keeps shut.)
    std::vector<eventlet::Event<>> gates(count);
    std::vector<bool> opened(count, false);
    const auto open = [&](int x) {
        const auto i = static_cast<std::size_t>(x);
        if (x < count && !opened[i]) {
            opened[i] = true;
            gates[i].send();
        }
    };
    const std::vector<int> inputs = first_inputs(count);
    auto results = pool.imap(
        [&](int x) {
            ++calls[static_cast<std::size_t>(x)];
            gates[static_cast<std::size_t>(x)].wait();
            return x;
        },
        inputs);

    // Fixed seeds: the same steps every run.
    std::minstd_rand choose(seed);
    std::vector<int> seen;
    bool ended = false;
    int interruptions = 0;
    int slot_waits_cut = 0;
    while (!ended) {
        const int next = static_cast<int>(seen.size());
        if (choose() % 3 == 0)
            open(next + 1 + static_cast<int>(choose() % 3)); // a later call ends first
        unsigned step = choose() % 5;
        // An interruption needs a reader that parks: past the last result,
        // or with the call of `next` free to end, it would not.
        if (next == count || opened[static_cast<std::size_t>(next)])
            step = 0;
        if (step == 0) { // a plain read
            open(next);
            auto it = results.begin();
            if (it == results.end())
                ended = true;
            else
                seen.push_back(*it);
            continue;
        }
        // The reader parks (for a slot if it must start the call of `next`,
        // else for its result, whose gate is shut) and is interrupted there.
        SlotHog other_work(pool);
        const std::size_t seen_before = seen.size();
        ++interruptions;
        if (step == 1) {
            eventlet::Timeout limit(0.001);
            CHECK_THROWS_AS(results.begin(), eventlet::TimeoutError);
            REQUIRE(seen.size() == seen_before);
            continue;
        }
        auto reader = spawn_parked_reader(results, seen, ended);
        ReaderGuard stop_reader{reader};
        if (pool.waiting() == 1)
            ++slot_waits_cut;
        if (step == 4) {
            // A second reader joins; the first is killed; the second goes
            // on where the first stopped.
            auto second = spawn_parked_reader(results, seen, ended);
            ReaderGuard stop_second{second};
            reader.kill(std::make_exception_ptr(ReaderStopped{}));
            CHECK_THROWS_AS(reader.wait(), ReaderStopped);
            REQUIRE(seen.size() == seen_before);
            other_work.release();
            open(next);
            second.wait();
            REQUIRE(seen.size() == seen_before + 1);
            continue;
        }
        if (step == 2) {
            reader.kill();
            CHECK_THROWS_AS(reader.wait(), eventlet::GreenletExit);
        } else {
            reader.kill(std::make_exception_ptr(ReaderStopped{}));
            CHECK_THROWS_AS(reader.wait(), ReaderStopped);
        }
        REQUIRE(seen.size() == seen_before); // interrupted, it took nothing
    }
    CHECK(seen == inputs);
    CHECK(calls == std::vector<int>(count, 1));
    CHECK(interruptions > 10);
    CHECK(slot_waits_cut > 0);
}

TEST_CASE("an imap reader killed while a call runs inline in it ends that call, which is not run again",
          "[imap]")
{
    const bool with_greenlet_exit = GENERATE(true, false);
    INFO("killed with GreenletExit: " << with_greenlet_exit);
    GreenPool pool(1);
    std::vector<int> calls(3, 0);
    eventlet::Event<> call_parked;
    eventlet::Event<> never;
    auto results = pool.imap(
        [&](int x) {
            ++calls[static_cast<std::size_t>(x)];
            if (x == 0) {
                call_parked.send();
                never.wait();
            }
            return x;
        },
        std::views::iota(0, 3));
    // A green thread of the pool reads it: the pool is full with the reader
    // itself, so the call of input 0 runs inline in the reader.
    auto reader = pool.spawn([&] { results.begin(); });
    call_parked.wait();
    if (with_greenlet_exit) {
        reader.kill();
        CHECK_THROWS_AS(reader.wait(), eventlet::GreenletExit);
    } else {
        reader.kill(std::make_exception_ptr(ReaderStopped{}));
        CHECK_THROWS_AS(reader.wait(), ReaderStopped); // the call's result, at its position
    }
    // The kill ended the call of input 0 and was its result: the iteration
    // goes on with input 1.
    std::vector<int> seen;
    for (auto it = results.begin(); it != results.end(); ++it)
        seen.push_back(*it);
    CHECK(seen == std::vector<int>{1, 2});
    CHECK(calls == std::vector<int>{1, 1, 1});
}

} // namespace imap_interrupted_test
