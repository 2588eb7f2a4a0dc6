// The hub's timers are kept where their owners live (a sleeper's stack, a
// green thread's state), so a sleeper that leaves early takes its timer out
// of the hub's queue at once, from wherever it sits in it. A timer due no
// sooner than every one queued before it goes to the back of an array kept
// in order; any other goes into a heap. These tests take nodes out where the
// heap must move others up or down to keep its order, and where the array
// must skip or drop the emptied ones, and mix the two.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/errors.hpp>
#include <eventlet/event.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/timer.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <vector>

using eventlet::GreenThread;

namespace {

// Sleepers go to sleep in the order of their index, and each one's sleep is
// chosen so that it lands at that index of the heap's array: as long as
// every sleep is at least its parent's, none moves up when it is pushed.
// The root's subtree on the left gets late sleeps, the one on the right
// early ones. Taking a node out of the left side puts the array's last
// node there, an early one from the right side: it must move up, past late
// ancestors, or it would wake after them. Taking out the right side's top
// puts a leaf there, later than the nodes below: it must move down.
constexpr std::size_t heap_size = 255; // a full tree: the last node is on the right

std::size_t depth_of(std::size_t index)
{
    std::size_t depth = 0;
    for (; index > 0; index = (index - 1) / 2)
        ++depth;
    return depth;
}

bool on_the_left(std::size_t index)
{
    while (index > 2)
        index = (index - 1) / 2;
    return index == 1;
}

std::chrono::milliseconds sleep_for(std::size_t index)
{
    const auto depth = static_cast<int>(depth_of(index));
    if (index == 0)
        return std::chrono::milliseconds(1);
    return std::chrono::milliseconds(on_the_left(index) ? 60 + 4 * depth : 2 + 4 * depth);
}

// Checks that `order` (indices, in the order their timers fired) follows
// their deadlines, each known to lie between `earliest` and `latest` (the
// clock read before and after the timer was set, which reads it itself in
// between: on a loaded machine the thread may lose the CPU for
// milliseconds there). A timer fired after one whose deadline is surely
// later fires out of order; two read a little apart may pass each other,
// whereas an early timer left under late ones fires tens of milliseconds
// late.
template <class Index>
void check_deadline_order(const std::vector<Index>& order,
                          const std::vector<std::chrono::steady_clock::time_point>& earliest,
                          const std::vector<std::chrono::steady_clock::time_point>& latest)
{
    for (std::size_t k = 1; k < order.size(); ++k) {
        INFO("fired " << order[k - 1] << " then " << order[k]);
        CHECK(latest[static_cast<std::size_t>(order[k])] >=
              earliest[static_cast<std::size_t>(order[k - 1])] - std::chrono::milliseconds(2));
    }
}

// check_deadline_order() for deadlines read once, just before each timer's
// own reading of the clock.
template <class Index>
void check_deadline_order(const std::vector<Index>& order,
                          const std::vector<std::chrono::steady_clock::time_point>& deadline)
{
    check_deadline_order(order, deadline, deadline);
}

// A call due in an hour, queued first: every timer pushed while it lives is
// due before it, so none goes to the array in order, and the heap gets them
// all. Cancelled when the scope ends.
class HeapOnly {
public:
    HeapOnly() : far_(eventlet::Hub::current().schedule_call(3600, [] {})) {}
    ~HeapOnly() { far_.cancel(); }
    HeapOnly(const HeapOnly&) = delete;
    HeapOnly& operator=(const HeapOnly&) = delete;

private:
    eventlet::TimerHandle far_;
};

// A pipe that nothing is written to unless a test says so, closed with it.
class QuietPipe {
public:
    QuietPipe()
    {
        if (::pipe2(ends_, O_NONBLOCK | O_CLOEXEC) != 0)
            throw std::runtime_error("pipe2 failed");
    }
    ~QuietPipe()
    {
        ::close(ends_[0]);
        ::close(ends_[1]);
    }
    QuietPipe(const QuietPipe&) = delete;
    QuietPipe& operator=(const QuietPipe&) = delete;
    int read_end() const noexcept { return ends_[0]; }
    void send_byte() const { REQUIRE(::write(ends_[1], "x", 1) == 1); }

private:
    int ends_[2] = {-1, -1};
};

// Kills the sleepers that `doomed(index)` picks, from one hub callback (a
// kill from a green thread would yield, and a slow machine could see
// sleepers wake between two kills), waits for every sleeper to end, and
// checks that the killed never woke and the others did, once, in the order
// of their deadlines.
template <class Doomed>
void kill_in_one_turn(std::vector<GreenThread<void>>& sleepers, Doomed doomed,
                      const std::vector<std::size_t>& woke,
                      const std::vector<std::chrono::steady_clock::time_point>& deadline)
{
    std::vector<std::size_t> spared;
    eventlet::Hub::current().schedule_call(0, [&sleepers, &spared, &doomed] {
        for (std::size_t i = 0; i < sleepers.size(); ++i) {
            if (doomed(i))
                sleepers[i].kill();
            else
                spared.push_back(i);
        }
    });
    for (auto& sleeper : sleepers)
        sleeper.join();
    std::vector<std::size_t> sorted_woke = woke;
    std::sort(sorted_woke.begin(), sorted_woke.end());
    REQUIRE(sorted_woke == spared);
    check_deadline_order(woke, deadline);
}

// Sleepers that go to sleep, once started, all in one turn and in the order
// of their index, each for sleep_of(index); and when each was due, and the
// order they woke in.
class Sleepers {
public:
    using Clock = std::chrono::steady_clock;
    template <class SleepOf>
    Sleepers(std::size_t count, SleepOf sleep_of) : deadline_(count)
    {
        for (std::size_t i = 0; i < count; ++i) {
            threads_.push_back(eventlet::spawn([this, i, sleep_of] {
                go_.wait();
                deadline_[i] = Clock::now() + sleep_of(i);
                eventlet::sleep(sleep_of(i));
                woke_.push_back(i);
            }));
        }
        eventlet::sleep(0); // every sleeper runs up to go_.wait()
    }
    Sleepers(const Sleepers&) = delete;
    Sleepers& operator=(const Sleepers&) = delete;
    // Starts them, then kill_in_one_turn().
    template <class Doomed>
    void sleep_and_kill(Doomed doomed)
    {
        go_.send();
        kill_in_one_turn(threads_, doomed, woke_, deadline_);
    }
    const std::vector<std::size_t>& woke() const noexcept { return woke_; }

private:
    eventlet::Event<> go_;
    std::vector<Clock::time_point> deadline_;
    std::vector<std::size_t> woke_;
    std::vector<GreenThread<void>> threads_;
};

} // namespace

TEST_CASE("a sleeper killed deep in the heap is replaced by one that moves up: all wake in order",
          "[lib][timers]")
{
    Sleepers sleepers(heap_size, sleep_for);
    const HeapOnly heap_only;
    // The victims, in the turn after every sleeper went to sleep: the right
    // side's top, whose replacement (a leaf, later than its children) must
    // move down, then every other node of the left side's deeper levels.
    sleepers.sleep_and_kill(
        [](std::size_t i) { return i == 2 || (on_the_left(i) && depth_of(i) >= 3 && i % 2 == 1); });
}

TEST_CASE("sleepers killed by the hundred, most of the heap: the others wake in order, once",
          "[lib][timers]")
{
    // A timer taken out of the heap leaves an empty entry behind; once
    // those outnumber the rest, the heap is rebuilt without them. Killing
    // three sleepers in four, in an order unrelated to their deadlines,
    // takes the heap through several rebuilds and through its front.
    constexpr std::size_t count = 240;
    Sleepers sleepers(count, [](std::size_t i) {
        return std::chrono::microseconds(1000 + 250 * static_cast<long>((i * 97) % count));
    });
    const auto doomed = [](std::size_t i) { return i % 4 != 0; };
    SECTION("all in the heap")
    {
        const HeapOnly heap_only;
        sleepers.sleep_and_kill(doomed);
    }
    SECTION("each in the array when due no sooner than the last there, else in the heap")
    {
        sleepers.sleep_and_kill(doomed);
    }
}

TEST_CASE("timers of one length queue in order: killed anywhere, the others fire once, in order",
          "[lib][timers]")
{
    // Each sleep a little longer than the one before: all go to the array.
    // The victims: its front, its back, a run in the middle, and then three
    // in four of the rest, so that the emptied ones outnumber the others
    // (the array drops them all at once) and come to the front (it skips them).
    constexpr std::size_t count = 300;
    Sleepers sleepers(count, [](std::size_t i) {
        return std::chrono::microseconds(20000 + 10 * static_cast<long>(i));
    });
    sleepers.sleep_and_kill([](std::size_t i) {
        return i == 0 || i == count - 1 || (i >= 100 && i < 140) || (i % 4 != 0 && i < 60);
    });
    // In the array, in order: the survivors wake in the order they slept.
    CHECK(std::is_sorted(sleepers.woke().begin(), sleepers.woke().end()));
}

TEST_CASE("a timer due before the array's last goes into the heap: the earlier front fires first",
          "[lib][timers]")
{
    // Long sleeps, each a little longer than the last long one, go to the
    // array; short ones, each shorter than the one before, to the heap. The
    // two interleave as they fall due, and neither's front may pass the other's.
    Sleepers sleepers(200, [](std::size_t i) {
        const auto step = static_cast<long>(i);
        return std::chrono::microseconds(i % 2 == 0 ? 12000 + 40 * step : 20000 - 60 * step);
    });
    sleepers.sleep_and_kill([](std::size_t i) { return i % 3 == 0; });
}

TEST_CASE("sockets' timeouts of one length: those that end early leave, the others time out in "
          "the order they began", "[lib][timers][fd]")
{
    // What the array is for: a server's waits, each with the same timeout,
    // most ended by data long before it. Half of these get theirs; the rest
    // time out, each exactly once, in the order they started to wait.
    constexpr std::size_t count = 64;
    std::vector<QuietPipe> pipes(count);
    std::vector<std::size_t> timed_out;
    std::vector<std::size_t> got_data;
    std::vector<GreenThread<void>> waiters;
    for (std::size_t i = 0; i < count; ++i) {
        waiters.push_back(eventlet::spawn([i, &pipes, &timed_out, &got_data] {
            try {
                eventlet::trampoline(pipes[i].read_end(), eventlet::Readiness::read, 0.03);
                got_data.push_back(i);
            } catch (const eventlet::IOTimeout&) {
                timed_out.push_back(i);
            }
        }));
    }
    eventlet::sleep(0); // every waiter is parked, in the order of its index
    for (std::size_t i = 0; i < count; i += 2)
        pipes[i].send_byte();
    for (auto& waiter : waiters)
        waiter.join();
    std::vector<std::size_t> odd;
    std::vector<std::size_t> even;
    for (std::size_t i = 0; i < count; ++i)
        (i % 2 == 0 ? even : odd).push_back(i);
    std::sort(got_data.begin(), got_data.end());
    CHECK(got_data == even);
    CHECK(timed_out == odd);
}

TEST_CASE("thousands of timers, pushed latest first: each fires once, in deadline order",
          "[lib][timers]")
{
    // Past 4096 timers the heap's arrays are blocks mapped on their own,
    // moved to larger ones as they grow: the order survives the moves.
    using Clock = std::chrono::steady_clock;
    constexpr int count = 6000;
    std::vector<Clock::time_point> earliest(count);
    std::vector<Clock::time_point> latest(count);
    std::vector<int> fired;
    fired.reserve(count);
    std::vector<eventlet::TimerHandle> handles;
    handles.reserve(count);
    for (int i = 0; i < count; ++i) {
        const auto delay = std::chrono::microseconds(10 * (count - i));
        earliest[static_cast<std::size_t>(i)] = Clock::now() + delay;
        handles.push_back(eventlet::Hub::current().schedule_call(
            std::chrono::duration<double>(delay).count(), [i, &fired] { fired.push_back(i); }));
        latest[static_cast<std::size_t>(i)] = Clock::now() + delay;
    }
    // Every other one cancelled: emptied entries among the moves too.
    for (int i = 0; i < count; i += 2)
        handles[static_cast<std::size_t>(i)].cancel();
    eventlet::sleep(std::chrono::duration<double>(std::chrono::microseconds(10 * count)).count() + 0.01);
    REQUIRE(fired.size() == count / 2);
    for (std::size_t k = 0; k < fired.size(); ++k)
        REQUIRE(fired[k] % 2 == 1);
    check_deadline_order(fired, earliest, latest);
}

TEST_CASE("green threads killed before they start are taken out of the next turn's calls",
          "[lib][timers]")
{
    std::vector<int> ran;
    std::vector<GreenThread<void>> threads;
    for (int i = 0; i < 10; ++i)
        threads.push_back(eventlet::spawn([i, &ran] { ran.push_back(i); }));
    // The first, the last, and some in between: none of them ever runs.
    for (const int i : {0, 4, 5, 9})
        threads[static_cast<std::size_t>(i)].kill();
    for (auto& thread : threads)
        thread.join();
    CHECK(ran == std::vector<int>{1, 2, 3, 6, 7, 8});
}

TEST_CASE("a cancelled call leaves the hub at once: with nothing else, a wait is a Deadlock",
          "[lib][timers]")
{
    eventlet::TimerHandle far = eventlet::Hub::current().schedule_call(3600, [] {});
    CHECK(far.pending());
    far.cancel();
    CHECK_FALSE(far.pending());
    // Were the cancelled call still counted, the hub would wait an hour.
    CHECK_THROWS_AS(eventlet::Hub::current().switch_to(), eventlet::Deadlock);
}
