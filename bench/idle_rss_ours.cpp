// idle_rss, ours: N green threads parked in sleep(1 hour); the resident
// memory (VmRSS) they add, per green thread. Each counts itself in when it
// starts, the last one sends an Event, and main reads VmRSS once that Event
// wakes it: by then every one of them has run up to its sleep and parked.
// What it counts: the green thread's state and handle, its sleep timer in
// the hub, and the pages of its stack it has touched (its stack is mapped
// whole, 256 KiB, but only touched pages are resident).
// Then kills them all, checks that each ended, and prints bytes per green thread.
#include <string>
#include <vector>

#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>

#include "bench.hpp"

namespace {

// Far longer than the run: no sleeper wakes by itself. It is killed.
constexpr int idle_seconds = 3600;
// How long main waits for all of them to park before it gives up.
constexpr int park_deadline_seconds = 30;

} // namespace

int main(int argc, char** argv)
{
    const long count = bench::count_argument(argc, argv, 20'000);
    // The hub, its greenlet's stack and its loop, before the first reading:
    // they exist once per thread, not once per green thread.
    eventlet::sleep(0);
    // The handles' vector too (8 bytes a handle, as Eventlet's list of them).
    std::vector<eventlet::GreenThread<void>> threads;
    threads.reserve(static_cast<std::size_t>(count));
    eventlet::Event<> all_parked;
    long parked = 0;

    const long before = bench::resident_bytes();
    for (long i = 0; i < count; ++i) {
        threads.push_back(eventlet::spawn([&parked, &all_parked, count] {
            // send() never switches: the last one parks below before main wakes.
            if (++parked == count)
                all_parked.send();
            eventlet::sleep(idle_seconds);
        }));
    }
    if (!all_parked.wait(park_deadline_seconds))
        bench::fail(std::to_string(parked) + " of " + std::to_string(count) +
                    " green threads parked within " + std::to_string(park_deadline_seconds) + " s");
    const long after = bench::resident_bytes();

    for (auto& thread : threads) {
        if (!thread.started() || thread.dead())
            bench::fail("a green thread is not parked when it should be");
    }
    // kill() runs the target at once (it unwinds out of its sleep); wait()
    // then rethrows the GreenletExit that ended it.
    long ended = 0;
    for (auto& thread : threads) {
        thread.kill();
        try {
            thread.wait();
        } catch (const eventlet::GreenletExit&) {
            ++ended;
        }
    }
    if (ended != count)
        bench::fail(std::to_string(ended) + " of " + std::to_string(count) +
                    " green threads ended by kill()");
    if (after <= before)
        bench::fail("VmRSS did not grow: " + std::to_string(before) + " then " +
                    std::to_string(after) + " bytes");
    bench::report_value(static_cast<double>(after - before) / static_cast<double>(count));
    return 0;
}
