// switch_hub, ours: two green threads that each call sleep(0) N times, so
// every sleep(0) goes through the hub to the other one. Measures what a yield
// costs once a loop stands between the green threads: two greenlet switches
// (to the hub and out of it) plus scheduling the wake-up.
// Prints nanoseconds per sleep(0).
#include <eventlet/greenlet.hpp>
#include <eventlet/hub.hpp>

#include "bench.hpp"

namespace {

// Runs the two sleepers to the end; returns the seconds it took.
double run_sleepers(long sleeps_per_thread)
{
    eventlet::Hub& hub = eventlet::Hub::current();
    eventlet::Greenlet& main_greenlet = eventlet::Greenlet::current();
    int running = 2;
    auto sleeper = [&] {
        for (long i = 0; i < sleeps_per_thread; ++i)
            eventlet::sleep(0);
        // The last one out wakes main through the hub, as any wake-up goes.
        if (--running == 0)
            hub.schedule_call(0, [&main_greenlet] { main_greenlet.switch_to(); });
    };
    // Children of the hub's greenlet: a sleeper that returns hands control
    // back to the loop, not to main.
    eventlet::Greenlet first(sleeper, {.name = "sleeper-1", .parent = &hub.greenlet()});
    eventlet::Greenlet second(sleeper, {.name = "sleeper-2", .parent = &hub.greenlet()});

    const bench::Stopwatch clock;
    // Started at the hub's next turn, as eventlet.spawn does.
    hub.schedule_call(0, [&first] { first.switch_to(); });
    hub.schedule_call(0, [&second] { second.switch_to(); });
    hub.switch_to(); // parks main until the last sleeper wakes it
    return clock.seconds();
}

} // namespace

int main(int argc, char** argv)
{
    const long sleeps_per_thread = bench::count_argument(argc, argv, 500'000);
    // A first small run creates the hub, maps the sleepers' stacks and lets
    // the loop allocate what it keeps, none of which is a yield's cost.
    run_sleepers(1'000);
    const double seconds = run_sleepers(sleeps_per_thread);
    bench::report_ns_per_operation(seconds, 2 * sleeps_per_thread);
    return 0;
}
