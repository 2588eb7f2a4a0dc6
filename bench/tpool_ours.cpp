// tpool, ours: round trips of a trivial call through eventlet::tpool::execute
// (chapter 12): the calling green thread parks, a thread of the pool runs
// the function, its result comes back through the hub, and the green thread
// resumes with it. The function only adds 1 to an int, so what is measured
// is the round trip itself: the hand-over to the pool, waking a pool thread,
// waking the hub from the other thread, and the two switches of the park.
//
// Usage: tpool_ours [--green-threads G] [COUNT]
// COUNT calls in all (a multiple of G), made by G green threads at once
// (default 1), each calling execute() in a loop, one call after the other.
// Every result is checked, and so is where each call ran: on an OS thread
// other than the hub's (a call run in place would measure nothing of the
// pool). Prints calls per second.
#include <charconv>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <eventlet/greenthread.hpp>
#include <eventlet/tpool.hpp>

#include "bench.hpp"

namespace {

// What a call returns when it ran on the hub's own thread, which no
// correct call returns (every correct one is i + 1 > 0).
constexpr long ran_in_place = -1;

/// Makes `calls` calls from one green thread, the i-th with i from `first`;
/// returns the sum of their results.
long call_in_a_loop(long first, long calls, std::thread::id hub_thread)
{
    long sum = 0;
    for (long i = first; i < first + calls; ++i) {
        sum += eventlet::tpool::execute([i, hub_thread] {
            return std::this_thread::get_id() == hub_thread ? ran_in_place : i + 1;
        });
    }
    return sum;
}

/// `calls` calls in all from `green_threads` green threads at once; checks
/// the results and returns the seconds it took.
double run(long calls, long green_threads)
{
    const std::thread::id hub_thread = std::this_thread::get_id();
    const long each = calls / green_threads;
    std::vector<eventlet::GreenThread<long>> threads;
    threads.reserve(static_cast<std::size_t>(green_threads)); // not a call's cost

    const bench::Stopwatch clock;
    for (long g = 0; g < green_threads; ++g)
        threads.push_back(eventlet::spawn(call_in_a_loop, g * each, each, hub_thread));
    long sum = 0;
    for (auto& thread : threads)
        sum += thread.wait();
    const double seconds = clock.seconds();

    // The results are 1, 2, ..., calls: their sum is calls * (calls + 1) / 2
    // unless a call ran in place (-1) or a result went to the wrong caller
    // twice over (a duplicate would miss another's number).
    if (sum != calls * (calls + 1) / 2)
        bench::fail("the " + std::to_string(calls) + " results sum to " + std::to_string(sum) +
                    ", not 1 + 2 + ... + " + std::to_string(calls) +
                    " (a call that ran on the hub's thread returns -1)");
    return seconds;
}

/// G of `--green-threads G` when it comes first, taken out of argc and argv
/// so that count_argument() reads the count after it; 1 without it.
long green_threads_argument(int& argc, char**& argv)
{
    if (argc < 3 || std::strcmp(argv[1], "--green-threads") != 0)
        return 1;
    long green_threads = 0;
    const char* text = argv[2];
    const auto [end, error] = std::from_chars(text, text + std::strlen(text), green_threads);
    if (error != std::errc() || *end != '\0' || green_threads < 1)
        bench::fail(std::string("--green-threads needs a positive number, not '") + text + "'");
    argv[2] = argv[0]; // the program's name stays first, for count_argument's usage line
    argv += 2;
    argc -= 2;
    return green_threads;
}

} // namespace

int main(int argc, char** argv)
{
    const long green_threads = green_threads_argument(argc, argv);
    const long calls = bench::count_argument(argc, argv, 100'000);
    if (calls % green_threads != 0)
        bench::fail("the count must be a multiple of --green-threads");
    // A first round creates the hub and starts the pool's threads, which
    // is not a call's cost.
    run(100 * green_threads, green_threads);
    bench::report_per_second(run(calls, green_threads), calls);
    return 0;
}
