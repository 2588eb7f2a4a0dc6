// Chapter 11: the records the hub makes and drops at every wake-up come from
// a free list, so that the steady state costs no trip to malloc.
#include <catch2/catch.hpp>

#include <eventlet/detail/recycling_allocator.hpp>
#include <eventlet/hub.hpp>

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

using eventlet::detail::RecyclingAllocator;

namespace {

// A type of its own per test, so that no other test's blocks are on its list.
template <int tag>
struct Record {
    std::uint64_t payload[4];
};

} // namespace

TEST_CASE("a freed block is handed out again", "[recycling]")
{
    RecyclingAllocator<Record<1>> allocator;
    Record<1>* first = allocator.allocate(1);
    allocator.deallocate(first, 1);
    Record<1>* second = allocator.allocate(1);
    CHECK(second == first);
    allocator.deallocate(second, 1);
}

TEST_CASE("kept blocks come back last freed first", "[recycling]")
{
    RecyclingAllocator<Record<2>> allocator;
    Record<2>* a = allocator.allocate(1);
    Record<2>* b = allocator.allocate(1);
    allocator.deallocate(a, 1);
    allocator.deallocate(b, 1);
    CHECK(allocator.allocate(1) == b);
    CHECK(allocator.allocate(1) == a);
    allocator.deallocate(a, 1);
    allocator.deallocate(b, 1);
}

TEST_CASE("arrays are not kept", "[recycling]")
{
    RecyclingAllocator<Record<3>> allocator;
    Record<3>* single = allocator.allocate(1);
    allocator.deallocate(single, 1);
    // An array of two must not be carved from a single kept block.
    Record<3>* array = allocator.allocate(2);
    CHECK(array != single);
    array[1].payload[3] = 7; // AddressSanitizer checks that the second one exists
    allocator.deallocate(array, 2);
    CHECK(allocator.allocate(1) == single);
    allocator.deallocate(single, 1);
}

TEST_CASE("no more blocks are kept than the limit", "[recycling]")
{
    RecyclingAllocator<Record<4>, 2> allocator;
    std::vector<Record<4>*> blocks;
    for (int i = 0; i < 3; ++i)
        blocks.push_back(allocator.allocate(1));
    for (Record<4>* block : blocks)
        allocator.deallocate(block, 1); // the third goes back to the system
    // The two kept ones come back first, newest first.
    CHECK(allocator.allocate(1) == blocks[1]);
    CHECK(allocator.allocate(1) == blocks[0]);
    allocator.deallocate(blocks[0], 1);
    allocator.deallocate(blocks[1], 1);
}

TEST_CASE("allocate_shared reuses the control block and the object together", "[recycling]")
{
    RecyclingAllocator<Record<5>> allocator;
    const void* first = nullptr;
    {
        auto shared = std::allocate_shared<Record<5>>(allocator);
        first = shared.get();
    }
    auto again = std::allocate_shared<Record<5>>(allocator);
    CHECK(static_cast<const void*>(again.get()) == first);
}

TEST_CASE("a thread's kept blocks are freed when it exits, and late frees still work",
          "[recycling][threads]")
{
    // Run under `make asan`, LeakSanitizer fails the run if the exiting
    // thread leaves its kept blocks behind.
    std::shared_ptr<Record<6>> outlives_its_thread;
    std::thread worker([&outlives_its_thread] {
        RecyclingAllocator<Record<6>> allocator;
        for (int i = 0; i < 100; ++i)
            allocator.deallocate(allocator.allocate(1), 1);
        outlives_its_thread = std::allocate_shared<Record<6>>(allocator);
    });
    worker.join();
    // Freed on this thread: it joins this thread's list.
    outlives_its_thread.reset();
    RecyclingAllocator<Record<6>> allocator;
    Record<6>* block = allocator.allocate(1);
    CHECK(block != nullptr);
    allocator.deallocate(block, 1);
}

TEST_CASE("a hub's wake-ups keep working through recycled records", "[recycling][hub]")
{
    // Every sleep(0) makes a scheduled call and drops it: ten thousand of
    // them run on a handful of blocks, each reset before its reuse.
    int woken = 0;
    for (int i = 0; i < 10'000; ++i) {
        eventlet::sleep(0);
        ++woken;
    }
    CHECK(woken == 10'000);
}

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>

TEST_CASE("under AddressSanitizer a kept block is poisoned until it is handed out again",
          "[recycling]")
{
    RecyclingAllocator<Record<7>> allocator;
    Record<7>* block = allocator.allocate(1);
    CHECK_FALSE(__asan_address_is_poisoned(block));
    allocator.deallocate(block, 1);
    // A read through a dangling pointer would be reported, not silently
    // see the next owner's data.
    CHECK(__asan_address_is_poisoned(block));
    CHECK(__asan_address_is_poisoned(&block->payload[3]));
    Record<7>* again = allocator.allocate(1);
    REQUIRE(again == block);
    CHECK_FALSE(__asan_address_is_poisoned(&again->payload[3]));
    allocator.deallocate(again, 1);
}
#endif
