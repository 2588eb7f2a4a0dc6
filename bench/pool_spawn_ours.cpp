// pool_spawn, ours: GreenPool(10000), N calls of GreenPool::spawn(), then
// waitall(). Each green thread adds its argument to a total; main checks
// the total once waitall() returns. Measures what a pool's green thread
// costs from spawn() to its end: taking a slot (main parks while all
// 10 000 are taken, and is let in again as green threads end and give theirs
// back), its state and handle, starting it at the hub's next turn (a stack
// from the pool, the switch into it), running it, and giving its slot back.
// The handles spawn() returns are dropped: nobody waits for a single one.
// Prints green threads per second.
#include <string>

#include <eventlet/greenpool.hpp>

#include "bench.hpp"

namespace {

constexpr std::size_t pool_size = 10'000;

// Spawns `count` green threads into a fresh pool, then waits for all of
// them; returns the seconds it took.
double spawn_all(long count)
{
    long total = 0;
    auto work = [&total](long i) { total += i; };

    const bench::Stopwatch clock;
    eventlet::GreenPool pool(pool_size);
    for (long i = 0; i < count; ++i)
        pool.spawn(work, i);
    pool.waitall();
    const double seconds = clock.seconds();

    // 0 + 1 + ... + (count - 1)
    const long expected = count * (count - 1) / 2;
    if (total != expected)
        bench::fail("the green threads added up to " + std::to_string(total) + ", not " +
                    std::to_string(expected));
    if (pool.running() != 0)
        bench::fail(std::to_string(pool.running()) + " green threads still run after waitall()");
    return seconds;
}

} // namespace

int main(int argc, char** argv)
{
    const long count = bench::count_argument(argc, argv, 100'000);
    // A first small run creates the hub, maps the stack pool's first stacks
    // and lets the allocator grow: none of that is a spawn's cost.
    spawn_all(1'000);
    bench::report_per_second(spawn_all(count), count);
    return 0;
}
