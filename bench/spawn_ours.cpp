// spawn, ours: spawn N green threads, then wait for each in turn, as code
// that fans work out and collects the results does. Each one returns a
// number computed from its argument; main adds the results up and checks
// the sum. Measures what a green thread costs from spawn() to the result
// in the caller's hands: its state and handle, starting it at the hub's
// next turn (a stack from the pool, the first switch into it), running it
// to its end, and the waiter taking its result.
// Prints green threads per second.
#include <vector>

#include <eventlet/greenthread.hpp>

#include "bench.hpp"

namespace {

long work(long i) { return 2 * i + 1; }

// Spawns `count` green threads, then waits for each; returns the seconds it took.
double spawn_and_wait(long count)
{
    std::vector<eventlet::GreenThread<long>> threads;
    threads.reserve(static_cast<std::size_t>(count)); // not a green thread's cost

    const bench::Stopwatch clock;
    // None starts before main first blocks: all `count` exist at once, as
    // handles. None has a stack yet; each gets one when it starts and gives
    // it back to the pool when it returns, so one stack serves them all.
    for (long i = 0; i < count; ++i)
        threads.push_back(eventlet::spawn(work, i));
    long sum = 0;
    for (auto& thread : threads)
        sum += thread.wait();
    const double seconds = clock.seconds();

    // 1 + 3 + 5 + ... (count odd numbers) = count squared.
    if (sum != count * count)
        bench::fail("the results add up to " + std::to_string(sum) + ", not " +
                    std::to_string(count * count));
    return seconds;
}

} // namespace

int main(int argc, char** argv)
{
    const long count = bench::count_argument(argc, argv, 100'000);
    // A first small run creates the hub, maps the pool's first stack and
    // lets the allocator grow: none of that is a spawn's cost.
    spawn_and_wait(1'000);
    bench::report_per_second(spawn_and_wait(count), count);
    return 0;
}
