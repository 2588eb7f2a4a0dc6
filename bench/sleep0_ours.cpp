// sleep0, ours: a sleep(0) ping-pong between two green threads, through the
// public API: eventlet::spawn() starts them, main wait()s for both. Each
// sleep(0) parks the caller at the back of the hub's ready callbacks, and
// the hub runs the other one, which was parked the same way: one switch is
// one sleep(0) call, a hand-off from one green thread to the other through
// the hub (two greenlet switches, via the hub's greenlet, plus scheduling
// and running the wake-up callback). Each green thread checks, after every
// sleep(0), that the other one ran in between: they strictly alternate.
// Prints nanoseconds per switch.
#include <string>

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>

#include "bench.hpp"

namespace {

// Runs the ping-pong for `switches` sleep(0) calls in all (each green
// thread makes half of them); returns the seconds it took.
double ping_pong(long switches)
{
    const long sleeps_per_thread = switches / 2;
    int last_to_run = 0; // which green thread last returned from sleep(0); 0: neither yet
    auto player = [&last_to_run, sleeps_per_thread](int me) {
        long in_turn = 0;
        for (long i = 0; i < sleeps_per_thread; ++i) {
            eventlet::sleep(0);
            in_turn += last_to_run != me;
            last_to_run = me;
        }
        return in_turn;
    };

    const bench::Stopwatch clock;
    // Both start at the hub's next turn, when main first blocks in wait().
    auto first = eventlet::spawn(player, 1);
    auto second = eventlet::spawn(player, 2);
    const long in_turn = first.wait() + second.wait();
    const double seconds = clock.seconds();

    // Strict alternation: every sleep(0) returned after the other one ran.
    if (in_turn != 2 * sleeps_per_thread)
        bench::fail(std::to_string(2 * sleeps_per_thread - in_turn) + " of " +
                    std::to_string(2 * sleeps_per_thread) +
                    " sleep(0) calls returned without the other green thread running");
    return seconds;
}

} // namespace

int main(int argc, char** argv)
{
    const long switches = bench::count_argument(argc, argv, 1'000'000);
    if (switches < 2)
        bench::fail("the count must be at least 2 (each green thread makes half of it)");
    // A first small run creates the hub and maps the stacks (kept in the
    // pool for the measured run): not a switch's cost.
    ping_pong(2'000);
    const long counted = switches / 2 * 2;
    bench::report_ns_per_operation(ping_pong(counted), counted);
    return 0;
}
