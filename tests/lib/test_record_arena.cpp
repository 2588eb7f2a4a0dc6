// The arena green threads' states come from: records handed out again
// newest first, per size; blocks given back to the system once nothing in
// them is alive or kept; records that cross OS threads.
#include <catch2/catch.hpp>

#include <eventlet/detail/record_arena.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

using eventlet::detail::RecordArena;

namespace {

bool aligned(const void* record)
{
    return reinterpret_cast<std::uintptr_t>(record) % RecordArena::record_alignment == 0;
}

// Runs `body` on an OS thread of its own, to its end (the thread's arena with it).
template <class Body>
void on_new_thread(Body body)
{
    std::thread thread(body);
    thread.join();
}

} // namespace

TEST_CASE("an arena record freed is handed out again, newest first", "[arena]")
{
    on_new_thread([] {
        void* a = RecordArena::allocate(100);
        void* b = RecordArena::allocate(100);
        CHECK(a != b);
        RecordArena::deallocate(a, 100);
        RecordArena::deallocate(b, 100);
        CHECK(RecordArena::allocate(100) == b);
        CHECK(RecordArena::allocate(100) == a);
        RecordArena::deallocate(a, 100);
        RecordArena::deallocate(b, 100);
    });
}

TEST_CASE("arena records share a list within one 16-byte step, not across steps", "[arena]")
{
    on_new_thread([] {
        void* record = RecordArena::allocate(97);
        RecordArena::deallocate(record, 97);
        void* larger = RecordArena::allocate(113); // the next step: a record of its own
        CHECK(larger != record);
        CHECK(RecordArena::allocate(112) == record); // 97 and 112 round to the same size
        RecordArena::deallocate(record, 112);
        RecordArena::deallocate(larger, 113);
    });
}

TEST_CASE("arena records are aligned and do not overlap", "[arena]")
{
    on_new_thread([] {
        // Sizes of every step, enough of them to fill more than one block.
        std::vector<std::pair<unsigned char*, std::size_t>> records;
        for (std::size_t i = 0; i < 4000; ++i) {
            const std::size_t bytes = 1 + (i * 37) % RecordArena::max_record;
            auto* record = static_cast<unsigned char*>(RecordArena::allocate(bytes));
            REQUIRE(aligned(record));
            std::memset(record, static_cast<int>(i % 251), bytes);
            records.emplace_back(record, bytes);
        }
        // A record that overlapped another would have had its bytes overwritten.
        for (std::size_t i = 0; i < records.size(); ++i) {
            const auto [record, bytes] = records[i];
            REQUIRE(record[0] == i % 251);
            REQUIRE(record[bytes - 1] == i % 251);
        }
        for (const auto& [record, bytes] : records)
            RecordArena::deallocate(record, bytes);
    });
}

TEST_CASE("an arena's blocks go back to the system once their records are freed",
          "[arena][threads]")
{
    const std::size_t before = RecordArena::blocks_mapped();
    on_new_thread([before] {
        // Three blocks and more of the largest records.
        const std::size_t count = 3 * RecordArena::block_bytes / RecordArena::max_record + 10;
        std::vector<void*> records;
        for (std::size_t i = 0; i < count; ++i)
            records.push_back(RecordArena::allocate(RecordArena::max_record));
        const std::size_t during = RecordArena::blocks_mapped();
        CHECK(during >= before + 4);
        for (void* record : records)
            RecordArena::deallocate(record, RecordArena::max_record);
        // The thread keeps a thousand for reuse (in the first blocks, freed
        // first) and carves from the last: the blocks in between are gone.
        const std::size_t kept_blocks =
            RecordArena::kept_per_size * RecordArena::max_record / RecordArena::block_bytes + 1;
        CHECK(RecordArena::blocks_mapped() <= before + kept_blocks + 1);
        CHECK(RecordArena::blocks_mapped() < during);
    });
    // Its thread gone, nothing holds them.
    CHECK(RecordArena::blocks_mapped() == before);
}

TEST_CASE("arena records freed on another thread are reused by the thread that made them",
          "[arena][threads]")
{
    on_new_thread([] {
        const std::size_t count = 3 * RecordArena::block_bytes / RecordArena::max_record;
        std::vector<void*> records;
        for (std::size_t i = 0; i < count; ++i)
            records.push_back(RecordArena::allocate(RecordArena::max_record));
        const std::size_t after_first = RecordArena::blocks_mapped();
        // The other thread keeps a thousand; the rest go back to their blocks.
        on_new_thread([&records] {
            for (void* record : records)
                RecordArena::deallocate(record, RecordArena::max_record);
        });
        records.clear();
        // As many again: the blocks' records come back here, and at most one
        // block more is mapped (the one being carved when room ran out).
        for (std::size_t i = 0; i < count; ++i)
            records.push_back(RecordArena::allocate(RecordArena::max_record));
        CHECK(RecordArena::blocks_mapped() <= after_first + 1);
        for (void* record : records)
            RecordArena::deallocate(record, RecordArena::max_record);
    });
}

TEST_CASE("an arena record outlives the thread that made it", "[arena][threads]")
{
    void* record = nullptr;
    on_new_thread([&record] {
        record = RecordArena::allocate(64);
        std::memset(record, 7, 64);
    });
    // Its block stays while the record is alive; freed here, it joins this
    // thread's list, and is handed out here again.
    CHECK(static_cast<unsigned char*>(record)[63] == 7);
    RecordArena::deallocate(record, 64);
    void* again = RecordArena::allocate(64);
    CHECK(again == record);
    RecordArena::deallocate(again, 64);
}

TEST_CASE("records made while a thread exits come from the arena too", "[arena][threads]")
{
    // A thread-local made before the thread's first record is destroyed
    // after the thread's arena: its destructor finds the arena gone.
    struct SpawnsAtExit {
        bool armed = false;
        ~SpawnsAtExit()
        {
            if (!armed)
                return;
            void* record = RecordArena::allocate(200);
            CHECK(aligned(record));
            std::memset(record, 1, 200);
            RecordArena::deallocate(record, 200);
        }
    };
    on_new_thread([] {
        thread_local SpawnsAtExit at_exit;
        at_exit.armed = true;
        RecordArena::deallocate(RecordArena::allocate(200), 200);
    });
}

TEST_CASE("a green thread's state freed on another OS thread than its own", "[arena][threads]")
{
    eventlet::GreenThread<int> ended;
    on_new_thread([&ended] {
        ended = eventlet::spawn([] { return 42; });
        eventlet::sleep(0); // it runs to its end
    });
    REQUIRE(ended.dead());
    CHECK(ended.wait() == 42); // ended: no parking on this thread's hub
    ended = {};                // the state is freed here
    // This thread's next spawns may reuse its record.
    int sum = 0;
    for (int i = 0; i < 3; ++i)
        sum += eventlet::spawn([i] { return i; }).wait();
    CHECK(sum == 3);
}

#if defined(__SANITIZE_ADDRESS__)
TEST_CASE("under AddressSanitizer a kept arena record is poisoned until handed out again",
          "[arena]")
{
    on_new_thread([] {
        void* record = RecordArena::allocate(48);
        CHECK_FALSE(__asan_address_is_poisoned(record));
        RecordArena::deallocate(record, 48);
        CHECK(__asan_address_is_poisoned(record));
        CHECK(__asan_address_is_poisoned(static_cast<char*>(record) + 47));
        void* again = RecordArena::allocate(48);
        REQUIRE(again == record);
        CHECK_FALSE(__asan_address_is_poisoned(static_cast<char*>(again) + 47));
        // Not carved yet: poisoned too.
        CHECK(__asan_address_is_poisoned(static_cast<char*>(again) + 48));
        RecordArena::deallocate(again, 48);
    });
}
#endif
