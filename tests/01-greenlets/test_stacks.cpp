// Chapter 1: guarded stacks, the stack pool, and what happens at the limits.
#include <catch2/catch.hpp>

#include <eventlet/greenlet.hpp>
#include <eventlet/stack.hpp>

#include <signal.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/child_process.hpp"

using eventlet::Greenlet;
using eventlet::StackPool;

namespace {

std::size_t count_mappings()
{
    std::ifstream maps("/proc/self/maps");
    std::size_t count = 0;
    for (std::string line; std::getline(maps, line);)
        ++count;
    return count;
}

// Recursion the optimiser cannot turn into a loop; each frame touches
// `frame_size` bytes so that the stack really grows.
template <std::size_t frame_size>
[[gnu::noinline]] std::size_t recurse(std::size_t depth, std::size_t limit)
{
    volatile char frame[frame_size];
    frame[0] = static_cast<char>(depth);
    frame[frame_size - 1] = frame[0];
    if (depth == limit)
        return frame[frame_size - 1];
    return recurse<frame_size>(depth + 1, limit) + frame[0];
}

} // namespace

TEST_CASE("10,000 greenlets alive at once: their stacks come back to the pool and the "
          "mappings to their baseline",
          "[greenlet][stack]")
{
    Greenlet* main = &Greenlet::current(); // the thread's own setup is not part of the count
    StackPool& pool = StackPool::local();
    pool.trim();
    const StackPool::Stats before = pool.stats();
    const std::size_t mappings_before = count_mappings();
    constexpr std::size_t count = 10'000;
    {
        std::vector<std::unique_ptr<Greenlet>> greenlets;
        greenlets.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            greenlets.push_back(std::make_unique<Greenlet>([main] { main->switch_to(); }));
            greenlets.back()->switch_to(); // started and suspended: it holds a stack
        }
        CHECK(pool.stats().in_use == before.in_use + count);
        CHECK(count_mappings() >= mappings_before + 2 * count); // guard + usable part each
        for (auto& g : greenlets)
            g->switch_to(); // each finishes; the stack goes back when we resume
        CHECK(pool.stats().in_use == before.in_use);
        CHECK(pool.stats().cached <= StackPool::default_max_cached);
    }
    pool.trim();
    CHECK(pool.stats().cached == 0);
#if defined(__SANITIZE_ADDRESS__)
    // ASan maps memory of its own as the test allocates, so only "the
    // 20,000 stack mappings are gone" can be checked exactly.
    CHECK(count_mappings() < mappings_before + 100);
#else
    CHECK(count_mappings() == mappings_before);
#endif
}

TEST_CASE("greenlets run one after another reuse one stack", "[greenlet][stack]")
{
    StackPool& pool = StackPool::local();
    Greenlet warm_up([] {});
    warm_up.switch_to();
    const std::size_t mapped_before = pool.stats().mapped;
    for (int i = 0; i < 10'000; ++i) {
        Greenlet g([i] { return i; });
        REQUIRE(std::any_cast<int>(g.switch_to()) == i);
    }
    CHECK(pool.stats().mapped == mapped_before);
}

TEST_CASE("a stack is mapped at the first switch, not at creation", "[greenlet][stack]")
{
    StackPool& pool = StackPool::local();
    const std::size_t in_use = pool.stats().in_use;
    Greenlet g([] {});
    CHECK(pool.stats().in_use == in_use);
    g.switch_to();
    CHECK(pool.stats().in_use == in_use);
}

TEST_CASE("a greenlet can ask for a larger stack", "[greenlet][stack]")
{
    // 512 KiB of frames would overflow the default 256 KiB stack.
    Greenlet big([] { return recurse<4096>(0, 128); }, {.stack_size = 1024 * 1024});
    CHECK_NOTHROW(big.switch_to());
    CHECK(big.dead());
}

TEST_CASE("a stack below the minimum size is refused at creation", "[greenlet][stack]")
{
    CHECK_THROWS_AS(Greenlet([] {}, {.stack_size = 0}), std::invalid_argument);
    CHECK_THROWS_WITH(Greenlet([] {}, {.stack_size = 4096}),
                      Catch::Contains("too small") && Catch::Contains("16384"));
    Greenlet smallest([] { return 42; }, {.stack_size = eventlet::StackPool::min_stack_size});
    CHECK(std::any_cast<int>(smallest.switch_to()) == 42);
}

TEST_CASE("running out of memory mappings is a clear error, not a crash", "[greenlet][stack]")
{
    // In a child, because it really exhausts vm.max_map_count (about 32,000
    // guarded stacks with the default limit of 65530 mappings).
    const auto result = test_support::run_in_child([] {
        Greenlet* main = &Greenlet::current();
        std::vector<std::unique_ptr<Greenlet>> greenlets;
        greenlets.reserve(1'000'000);
        try {
            for (;;) {
                greenlets.push_back(std::make_unique<Greenlet>([main] { main->switch_to(); }));
                greenlets.back()->switch_to();
            }
        } catch (const eventlet::StackAllocationError& e) {
            std::fprintf(stderr, "StackAllocationError after %zu greenlets: %s\n",
                         greenlets.size() - 1, e.what());
            ::_exit(0); // skip unwinding tens of thousands of greenlets
        }
    });
    INFO(result.stderr_text);
    CHECK(result.exited());
    CHECK(result.exit_code() == 0);
    CHECK_THAT(result.stderr_text, Catch::Contains("StackAllocationError after"));
    CHECK_THAT(result.stderr_text, Catch::Contains("vm.max_map_count"));
}

TEST_CASE("a stack overflow names the greenlet that overflowed", "[greenlet][stack]")
{
    SECTION("small frames walk into the guard page")
    {
        const auto result = test_support::run_in_child([] {
            Greenlet deep([] { return recurse<256>(0, std::size_t(1) << 40); }, {.name = "deep"});
            deep.switch_to();
        });
        CHECK(result.killed_by(SIGSEGV));
        CHECK_THAT(result.stderr_text,
                   Catch::Contains("eventlet: stack overflow in greenlet 'deep' (its stack has 256 KiB"));
    }
    SECTION("large frames are probed page by page, so they cannot jump the guard")
    {
        const auto result = test_support::run_in_child([] {
            Greenlet wide([] { return recurse<64 * 1024>(0, std::size_t(1) << 40); });
            wide.switch_to();
        });
        CHECK(result.killed_by(SIGSEGV));
        CHECK_THAT(result.stderr_text, Catch::Contains("stack overflow in greenlet 'greenlet-"));
    }
}

TEST_CASE("a fault outside any guard page is left to the handler that was there before",
          "[greenlet][stack]")
{
    const auto result = test_support::run_in_child([] {
        Greenlet g([] {
            volatile int* null_pointer = nullptr;
            *null_pointer = 1;
        });
        g.switch_to();
    });
    // The default action kills with SIGSEGV; under ASan, ASan's handler was
    // there first and reports the fault, then exits with an error status.
    CHECK((result.killed_by(SIGSEGV) || (result.exited() && result.exit_code() != 0)));
    CHECK_THAT(result.stderr_text, !Catch::Contains("stack overflow"));
}
