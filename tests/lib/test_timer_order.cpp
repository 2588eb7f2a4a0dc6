// The hub's timers are kept where their owners live (a sleeper's stack, a
// green thread's state), so a sleeper that leaves early takes its timer out
// of the hub's heap at once, from wherever it sits in it. These tests make
// the heap move nodes in every direction and check the order survives.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/errors.hpp>
#include <eventlet/event.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

using eventlet::GreenThread;

namespace {

// Milliseconds of sleep for sleeper `index`: scattered, with repeats, so
// that removals land in the middle of the heap, at its ends and among ties;
// 4 ms apart, far more than two clock readings of one sleeper differ by.
int sleep_ms(std::size_t index) { return static_cast<int>((index * 37) % 23) * 4 + 1; }

} // namespace

TEST_CASE("sleepers killed anywhere in the heap leave the others waking in deadline order",
          "[lib][timers]")
{
    using Clock = std::chrono::steady_clock;
    constexpr std::size_t count = 300;
    eventlet::Event<> go;
    std::vector<Clock::time_point> deadline(count);
    std::vector<std::size_t> woke;
    std::vector<GreenThread<void>> sleepers;
    for (std::size_t i = 0; i < count; ++i) {
        sleepers.push_back(eventlet::spawn([i, &go, &deadline, &woke] {
            go.wait(); // all go to sleep in one turn, once every stack is mapped
            const auto sleep = std::chrono::milliseconds(sleep_ms(i));
            deadline[i] = Clock::now() + sleep;
            eventlet::sleep(sleep);
            woke.push_back(i);
        }));
    }
    eventlet::sleep(0);
    go.send();
    // Killed from a hub callback of the same turn, after every sleeper went
    // to sleep: a kill from a green thread would yield, and a slow machine
    // could see sleepers wake between two kills.
    std::vector<std::size_t> expected;
    eventlet::Hub::current().schedule_call(0, [&sleepers, &expected] {
        for (std::size_t i = 0; i < count; ++i) {
            if (i % 3 == 1)
                sleepers[i].kill();
            else
                expected.push_back(i);
        }
    });
    for (auto& sleeper : sleepers)
        sleeper.join();

    std::vector<std::size_t> sorted_woke = woke;
    std::sort(sorted_woke.begin(), sorted_woke.end());
    REQUIRE(sorted_woke == expected); // the killed never woke, the others did, once
    // In the order of their deadlines. Each was read just before its sleep
    // read the clock again, so two read a little apart may pass each other;
    // a heap that lost its order is off by whole steps of 4 ms.
    for (std::size_t k = 1; k < woke.size(); ++k) {
        INFO("woke " << woke[k - 1] << " then " << woke[k]);
        CHECK(deadline[woke[k]] >= deadline[woke[k - 1]] - std::chrono::milliseconds(2));
    }
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

TEST_CASE("a cancelled call leaves the hub at once: with nothing else to wake it, a wait is a Deadlock",
          "[lib][timers]")
{
    eventlet::TimerHandle far = eventlet::Hub::current().schedule_call(3600, [] {});
    CHECK(far.pending());
    far.cancel();
    CHECK_FALSE(far.pending());
    // Were the cancelled call still counted, the hub would wait an hour.
    CHECK_THROWS_AS(eventlet::Hub::current().switch_to(), eventlet::Deadlock);
}
