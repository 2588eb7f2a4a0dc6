// spawn, the Asio peer: the same fan-out and collection with no green
// thread at all: N handlers posted to one asio::io_context, then run() runs
// them; each writes its result to its own slot, and main adds the slots up
// and checks the sum. A handler has no stack, no handle to wait on and no
// switch: this is the floor for "schedule a function on a loop and get its
// result back", what the stack and the switches of a green thread add to.
// Prints handlers per second.
#include <vector>

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include "bench.hpp"

namespace {

long work(long i) { return 2 * i + 1; }

// Posts `count` handlers, then runs them; returns the seconds it took.
double post_and_run(long count)
{
    asio::io_context context;
    // The slots stand for the green threads' handles: allocated before the
    // clock starts, as spawn_ours.cpp reserves its vector of handles.
    std::vector<long> results(static_cast<std::size_t>(count), 0);

    const bench::Stopwatch clock;
    for (long i = 0; i < count; ++i)
        asio::post(context, [&results, i] { results[static_cast<std::size_t>(i)] = work(i); });
    const std::size_t handlers_run = context.run();
    long sum = 0;
    for (const long result : results)
        sum += result;
    const double seconds = clock.seconds();

    if (handlers_run != static_cast<std::size_t>(count))
        bench::fail("run() ran " + std::to_string(handlers_run) + " handlers, not " +
                    std::to_string(count));
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
    post_and_run(1'000); // as in spawn_ours.cpp: the allocator grows first
    bench::report_per_second(post_and_run(count), count);
    return 0;
}
