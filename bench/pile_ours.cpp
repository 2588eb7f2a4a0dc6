// pile, ours: GreenPiles of 10 000 calls each. Every call sleep(0)s once,
// so that it parks in the hub and is resumed, then returns its index as a
// string; main join()s each pile's results with "," and checks the string
// against the one it expects. Measures what one call of a pile costs:
// spawn() into the pile's pool of PILE_POOL_SIZE slots (parking while all
// are taken), starting it at the hub's next turn (a stack, the switch into
// it), its sleep(0) (two switches through the hub), its result, and the
// consumer taking that result in spawn order.
// The count is the calls in all, a multiple of 10 000: count / 10 000 piles,
// one after the other. Prints calls per second.
#include <string>
#include <vector>

#include <eventlet/greenpile.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/join.hpp>

#include "bench.hpp"

namespace {

constexpr long calls_per_pile = 10'000;
constexpr std::size_t pile_pool_size = 1'000; // GreenPile's default size, as Eventlet's

std::string work(long i)
{
    eventlet::sleep(0);
    return std::to_string(i);
}

// "0,1,...,calls_per_pile - 1": what every pile must join to.
std::string expected_join()
{
    std::string expected;
    for (long i = 0; i < calls_per_pile; ++i)
        expected += (i == 0 ? "" : ",") + std::to_string(i);
    return expected;
}

// Runs `piles` piles, one after the other; returns the seconds it took.
double run_piles(long piles)
{
    std::vector<std::string> joined(static_cast<std::size_t>(piles)); // not a call's cost

    const bench::Stopwatch clock;
    for (auto& result : joined) {
        eventlet::GreenPile<std::string> pile(pile_pool_size);
        for (long i = 0; i < calls_per_pile; ++i)
            pile.spawn(work, i);
        result = eventlet::join(pile, ",");
    }
    const double seconds = clock.seconds();

    const std::string expected = expected_join();
    for (std::size_t p = 0; p < joined.size(); ++p) {
        if (joined[p] != expected)
            bench::fail("pile " + std::to_string(p) + " joined to " +
                        std::to_string(joined[p].size()) + " characters that are not 0,1,...," +
                        std::to_string(calls_per_pile - 1));
    }
    return seconds;
}

} // namespace

int main(int argc, char** argv)
{
    const long calls = bench::count_argument(argc, argv, 50'000);
    if (calls % calls_per_pile != 0)
        bench::fail("the count must be a multiple of " + std::to_string(calls_per_pile) +
                    " (the calls of one pile)");
    // A first pile creates the hub, maps the stacks the pool keeps and lets
    // the allocator grow: none of that is a call's cost.
    run_piles(1);
    bench::report_per_second(run_piles(calls / calls_per_pile), calls);
    return 0;
}
