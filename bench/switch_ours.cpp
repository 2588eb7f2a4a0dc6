// switch, ours: a ping-pong between the root greenlet and one greenlet.
// Prints nanoseconds per switch; one round trip is two switches.
#include <eventlet/greenlet.hpp>

#include "bench.hpp"

int main(int argc, char** argv)
{
    const long switches = bench::count_argument(argc, argv, 2'000'000);
    const long rounds = switches / 2;
    // The first switches map the greenlet's stack and fault its first pages
    // in: done before the clock starts, they would count as switching cost.
    const long warmup_rounds = 10'000;

    eventlet::Greenlet& root = eventlet::Greenlet::current();
    // The body ends after its last switch instead of looping for ever, so the
    // greenlet finishes normally rather than being unwound by its destructor.
    eventlet::Greenlet partner(
        [&root, total = warmup_rounds + rounds] {
            for (long i = 0; i < total; ++i)
                root.switch_to();
        },
        {.name = "switch-partner"});

    for (long i = 0; i < warmup_rounds; ++i)
        partner.switch_to();

    const bench::Stopwatch clock;
    for (long i = 0; i < rounds; ++i)
        partner.switch_to();
    const double seconds = clock.seconds();

    partner.switch_to(); // lets the body return
    bench::report_ns_per_operation(seconds, 2 * rounds);
    return partner.dead() ? 0 : 1;
}
