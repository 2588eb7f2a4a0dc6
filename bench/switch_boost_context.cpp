// switch, the Boost.Context peer: the same ping-pong as switch_ours.cpp
// between main and one boost::context::fiber. Its switch is a few lines of
// assembly that save callee-saved registers and swap stack pointers, with no
// system call: the floor that a user-space switch can reach.
// Prints nanoseconds per switch; one round trip is two switches.
#include <utility>

#include <boost/context/fiber.hpp>

#include "bench.hpp"

namespace context = boost::context;

int main(int argc, char** argv)
{
    const long switches = bench::count_argument(argc, argv, 100'000'000);
    const long rounds = switches / 2;
    const long warmup_rounds = 10'000; // as in switch_ours.cpp: fault the stack in first

    // A fiber is a one-shot handle: resume() consumes it and returns the
    // handle of whoever switched back, hence the reassignments.
    context::fiber partner{[total = warmup_rounds + rounds](context::fiber&& caller) {
        for (long i = 0; i < total; ++i)
            caller = std::move(caller).resume();
        return std::move(caller);
    }};

    for (long i = 0; i < warmup_rounds; ++i)
        partner = std::move(partner).resume();

    const bench::Stopwatch clock;
    for (long i = 0; i < rounds; ++i)
        partner = std::move(partner).resume();
    const double seconds = clock.seconds();

    partner = std::move(partner).resume(); // lets the body return
    bench::report_ns_per_operation(seconds, 2 * rounds);
    return partner ? 1 : 0; // a fiber that returned leaves an empty handle
}
