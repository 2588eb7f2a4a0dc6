// imap, ours: GreenPool(1000).imap() of x -> x + 1 over the N numbers
// 0 .. N-1, the results added up in main as they come, and the sum checked.
// Measures what one call of an imap costs: reading the next element, a
// green thread of the pool for it (at most 1 000 started and not yet
// consumed), running it, and the consumer taking its result in input order.
//
//   imap_ours COUNT              prints calls per second (row imap)
//   imap_ours --peak-rss COUNT   the same run, then prints the process's peak
//                                resident memory in bytes, VmHWM (row imap_rss)
#include <ranges>
#include <string>

#include <eventlet/greenpool.hpp>

#include "bench.hpp"

namespace {

constexpr std::size_t pool_size = 1'000;

// Maps x -> x + 1 over 0 .. count-1 through an imap of a fresh pool and
// adds the results up; returns the seconds it took.
double map_and_sum(long count)
{
    const bench::Stopwatch clock;
    eventlet::GreenPool pool(pool_size);
    long sum = 0;
    for (long result : pool.imap([](long x) { return x + 1; }, std::views::iota(0L, count)))
        sum += result;
    const double seconds = clock.seconds();

    // 1 + 2 + ... + count
    const long expected = count * (count + 1) / 2;
    if (sum != expected)
        bench::fail("the results add up to " + std::to_string(sum) + ", not " +
                    std::to_string(expected));
    return seconds;
}

} // namespace

int main(int argc, char** argv)
{
    const bool peak_rss = bench::option_argument(argc, argv, "--peak-rss");
    const long count = bench::count_argument(argc, argv, 1'000'000);
    // A first small run creates the hub, maps the stack pool's first stacks
    // and lets the allocator grow: none of that is a call's cost.
    map_and_sum(1'000);
    const double seconds = map_and_sum(count);
    if (peak_rss)
        bench::report_value(static_cast<double>(bench::peak_resident_bytes()));
    else
        bench::report_per_second(seconds, count);
    return 0;
}
