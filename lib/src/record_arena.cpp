#include "eventlet/detail/record_arena.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include <valgrind/memcheck.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace eventlet::detail {

namespace {

// Added to a block's holders while the thread that carved it lives: far
// above any count of records a block can hold.
constexpr std::int64_t carver_holds = std::int64_t{1} << 40;

// A record given back to its block: where the carver picks it up again.
struct ReturnedRecord {
    ReturnedRecord* next;
    std::size_t size_class;
};

// The first bytes of every block. `holders` counts its records that are out
// (alive, or kept on some thread's list), plus carver_holds while the
// thread that carved it lives: the block is unmapped when it falls to zero.
// Records given back beyond what a thread keeps wait on `returned` (any
// thread pushes; the carver takes the whole list) until the carver needs
// room.
struct BlockHead {
    std::atomic<std::int64_t> holders{carver_holds};
    std::atomic<ReturnedRecord*> returned{nullptr};
    std::uint64_t carver = 0; // the carving thread's Carver::id
};
// Records start one cache line into the block.
constexpr std::size_t head_bytes = 64;
static_assert(sizeof(BlockHead) <= head_bytes);
static_assert(sizeof(ReturnedRecord) <= RecordArena::record_alignment);

// A kept record holds the link to the next one in its own bytes.
struct KeptRecord {
    KeptRecord* next;
};

std::atomic<std::size_t> blocks_mapped_now{0};

// Memory that is nobody's (a kept record, a block's part not carved yet):
// AddressSanitizer and valgrind's memcheck report any touch of it but the
// arena's own, which makes it accessible first.
void poison([[maybe_unused]] void* start, [[maybe_unused]] std::size_t bytes) noexcept
{
#if defined(__SANITIZE_ADDRESS__)
    __asan_poison_memory_region(start, bytes);
#endif
    VALGRIND_MAKE_MEM_NOACCESS(start, bytes);
}

void unpoison([[maybe_unused]] void* start, [[maybe_unused]] std::size_t bytes) noexcept
{
#if defined(__SANITIZE_ADDRESS__)
    __asan_unpoison_memory_region(start, bytes);
#endif
    VALGRIND_MAKE_MEM_DEFINED(start, bytes);
}

BlockHead* block_of(void* record) noexcept
{
    const auto address = reinterpret_cast<std::uintptr_t>(record);
    return reinterpret_cast<BlockHead*>(address & ~(RecordArena::block_bytes - 1));
}

void unmap(BlockHead* head) noexcept
{
    head->~BlockHead();
    // Stale poison would confuse the next mapping at this address.
    unpoison(head, RecordArena::block_bytes);
    ::munmap(head, RecordArena::block_bytes);
    blocks_mapped_now.fetch_sub(1, std::memory_order_relaxed);
}

// True if that was the last hold, and the block is gone.
bool drop_holder(BlockHead* head, std::int64_t count) noexcept
{
    if (head->holders.fetch_sub(count, std::memory_order_acq_rel) != count)
        return false;
    unmap(head);
    return true;
}

constexpr std::size_t size_classes = RecordArena::max_record / RecordArena::record_alignment;

std::size_t class_of(std::size_t bytes) noexcept
{
    return (bytes + RecordArena::record_alignment - 1) / RecordArena::record_alignment - 1;
}

std::size_t class_bytes(std::size_t size_class) noexcept
{
    return (size_class + 1) * RecordArena::record_alignment;
}

// Gives a record back to its block for good: its carver takes it up again
// when it needs room, or the block goes once nothing in it is out.
// Null if that was the block's last hold, and the block is gone.
BlockHead* return_to_block(void* record, std::size_t size_class) noexcept
{
    BlockHead* head = block_of(record);
    auto* returned = ::new (record) ReturnedRecord{head->returned.load(std::memory_order_relaxed),
                                                   size_class};
    poison(returned + 1, class_bytes(size_class) - sizeof(ReturnedRecord));
    while (!head->returned.compare_exchange_weak(returned->next, returned,
                                                 std::memory_order_release,
                                                 std::memory_order_relaxed)) {
    }
    return drop_holder(head, 1) ? nullptr : head;
}

// A block of block_bytes at an address that is a multiple of block_bytes,
// so that a record finds its block's head by rounding its address down.
BlockHead* map_block(bool huge_pages)
{
    constexpr std::size_t size = RecordArena::block_bytes;
    void* raw = ::mmap(nullptr, 2 * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
    if (raw == MAP_FAILED)
        throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (start + size - 1) & ~(size - 1);
    if (aligned != start)
        ::munmap(raw, aligned - start);
    if (const std::uintptr_t tail = aligned + size; tail != start + 2 * size)
        ::munmap(reinterpret_cast<void*>(tail), start + 2 * size - tail);
    // Advice: a kernel without transparent huge pages, or with them
    // disabled, refuses it and the block has small pages.
    if (huge_pages)
        ::madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);
    blocks_mapped_now.fetch_add(1, std::memory_order_relaxed);
    auto* head = ::new (reinterpret_cast<void*>(aligned)) BlockHead;
    // Not carved yet: nobody's to touch.
    poison(reinterpret_cast<char*>(head) + head_bytes, size - head_bytes);
    return head;
}

// One thread's blocks, the one it carves from, and its lists of kept records.
class Carver {
public:
    Carver() noexcept : id_(next_id.fetch_add(1, std::memory_order_relaxed)) {}
    Carver(const Carver&) = delete;
    Carver& operator=(const Carver&) = delete;
    ~Carver()
    {
        for (KeptList& list : kept_) {
            while (list.first != nullptr) {
                KeptRecord* record = list.first;
                unpoison(record, sizeof(KeptRecord));
                list.first = record->next;
                drop_holder(block_of(record), 1);
            }
        }
        // Each block goes now, or when the last of its records does.
        for (BlockHead* head : blocks_)
            drop_holder(head, carver_holds);
    }

    void* allocate(std::size_t size_class)
    {
        handed_out_ += static_cast<std::int64_t>(class_bytes(size_class));
        if (void* record = take_kept(size_class); record != nullptr)
            return record;
        return carve(size_class);
    }

    void give_back(void* record, std::size_t size_class) noexcept
    {
        handed_out_ -= static_cast<std::int64_t>(class_bytes(size_class));
        if (kept_[size_class].count < RecordArena::kept_per_size) {
            keep(record, size_class);
            return;
        }
        // Whose block, asked while our record still holds it: once the
        // record is back, another thread may unmap the block, unless it is
        // ours (only we drop our hold on our blocks).
        const bool ours = block_of(record)->carver == id_;
        BlockHead* head = return_to_block(record, size_class);
        // The last record of one of our blocks: the block goes now. (Blocks
        // emptied from other threads go when we next need room.)
        if (ours && head != current() &&
            head->holders.load(std::memory_order_acquire) == carver_holds) {
            if (const auto it = std::find(blocks_.begin(), blocks_.end(), head); it != blocks_.end()) {
                blocks_.erase(it);
                drop_holder(head, carver_holds);
            }
        }
    }

private:
    void keep(void* record, std::size_t size_class) noexcept
    {
        KeptList& list = kept_[size_class];
        list.first = ::new (record) KeptRecord{list.first};
        ++list.count;
        poison(record, class_bytes(size_class));
    }

    void* take_kept(std::size_t size_class) noexcept
    {
        KeptList& list = kept_[size_class];
        KeptRecord* record = list.first;
        if (record == nullptr)
            return nullptr;
        unpoison(record, class_bytes(size_class));
        list.first = record->next;
        --list.count;
        return record;
    }

    void* carve(std::size_t size_class)
    {
        const std::size_t bytes = class_bytes(size_class);
        if (static_cast<std::size_t>(end_ - next_) < bytes) {
            // Out of room: first the records given back to our blocks.
            if (void* record = take_back_returned(size_class); record != nullptr)
                return record;
            start_block();
        }
        if (next_ + bytes > populated_)
            populate_window();
        void* record = next_;
        next_ += bytes;
        current()->holders.fetch_add(1, std::memory_order_relaxed);
        unpoison(record, bytes);
        return record;
    }

    BlockHead* current() const noexcept { return blocks_.back(); }

    // Unmaps our blocks with nothing left out, moves the records given back
    // to the others onto our lists (past the limit: records are wanted
    // again), and hands out one of `size_class` if there is one.
    void* take_back_returned(std::size_t size_class) noexcept
    {
        for (auto it = blocks_.begin(); it != blocks_.end();) {
            BlockHead* head = *it;
            // With none of its records out, nobody can give one back.
            if (head != current() &&
                head->holders.load(std::memory_order_acquire) == carver_holds) {
                it = blocks_.erase(it);
                drop_holder(head, carver_holds);
                continue;
            }
            ReturnedRecord* returned = head->returned.exchange(nullptr, std::memory_order_acquire);
            std::int64_t count = 0;
            while (returned != nullptr) {
                ReturnedRecord* next = returned->next;
                keep(returned, returned->size_class);
                returned = next;
                ++count;
            }
            head->holders.fetch_add(count, std::memory_order_relaxed);
            ++it;
        }
        return take_kept(size_class);
    }

    void start_block()
    {
        // Records this thread has out (made here, not yet freed here; a
        // record freed on another thread counts there): a burst under way.
        const bool burst = handed_out_ >= static_cast<std::int64_t>(
                                              RecordArena::small_page_blocks * RecordArena::block_bytes);
        if (blocks_.size() == blocks_.capacity())
            blocks_.reserve(2 * blocks_.size() + 1); // before the mapping, which it would leak
        BlockHead* head = map_block(burst);
        head->carver = id_;
        blocks_.push_back(head);
        next_ = reinterpret_cast<char*>(head) + head_bytes;
        end_ = reinterpret_cast<char*>(head) + RecordArena::block_bytes;
        // A huge page comes whole at its first touch; small pages one fault
        // each, unless asked for in advance (from a page boundary: the head's).
        populated_ = burst ? end_ : reinterpret_cast<char*>(head);
    }

    // A fault per 4 KiB page costs a trap each (microseconds, on a virtual
    // machine): the next 64 KiB of small pages are asked for in one call,
    // which costs about half as much. Resident memory runs at most that far
    // ahead of the records. A kernel older than 5.14 refuses the advice, and
    // the pages fault one by one. (`populated_` stays on a page boundary,
    // as madvise() requires.)
    void populate_window() noexcept
    {
        constexpr std::size_t window = std::size_t{64} << 10;
        const std::size_t length = std::min(window, static_cast<std::size_t>(end_ - populated_));
#if defined(MADV_POPULATE_WRITE)
        ::madvise(populated_, length, MADV_POPULATE_WRITE);
#endif
        populated_ += length;
    }

    // Records taken back from the blocks may take a list past the limit:
    // they are wanted again.
    struct KeptList {
        KeptRecord* first = nullptr;
        std::size_t count = 0;
    };
    // Unique for the process's life: a later thread's Carver may live at
    // the address of an exited one's, whose blocks are not its own.
    static inline std::atomic<std::uint64_t> next_id{1};
    const std::uint64_t id_;
    std::array<KeptList, size_classes> kept_{};
    std::vector<BlockHead*> blocks_; // the last one is carved from
    char* next_ = nullptr;
    char* end_ = nullptr;
    char* populated_ = nullptr;
    std::int64_t handed_out_ = 0;
};

// A trivially destructible flag stays readable during thread exit.
constinit thread_local bool carver_gone = false;

struct ThisThread {
    Carver carver;
    ~ThisThread() { carver_gone = true; }
};

// Null once the thread is exiting and its carver is gone.
Carver* carver_of_this_thread() noexcept
{
    if (carver_gone)
        return nullptr;
    thread_local ThisThread this_thread;
    return &this_thread.carver;
}

// For records made while a thread exits, after its own carver is gone (a
// spawn in another thread-local's destructor): rare, so one lock for all,
// and never destroyed, as it may serve the last destructor of the process.
struct LateCarver {
    std::mutex lock;
    Carver carver;
};

LateCarver& late_carver()
{
    alignas(LateCarver) static unsigned char storage[sizeof(LateCarver)];
    static LateCarver* late = ::new (storage) LateCarver;
    return *late;
}

} // namespace

// To memcheck, a record handed out is a heap block of its own: a use after
// free, a read of what was never written and a leak are reported as with
// malloc's. (Outside valgrind each request is a few instructions.)
void* RecordArena::allocate(std::size_t bytes)
{
    const std::size_t size_class = class_of(bytes);
    void* record = nullptr;
    if (Carver* carver = carver_of_this_thread(); carver != nullptr) {
        record = carver->allocate(size_class);
    } else {
        LateCarver& late = late_carver();
        const std::lock_guard guard(late.lock);
        record = late.carver.allocate(size_class);
    }
    VALGRIND_MALLOCLIKE_BLOCK(record, bytes, 0, 0);
    return record;
}

void RecordArena::deallocate(void* record, std::size_t bytes) noexcept
{
    VALGRIND_FREELIKE_BLOCK(record, 0);
    // The arena's own links go in the record's first bytes.
    VALGRIND_MAKE_MEM_UNDEFINED(record, sizeof(ReturnedRecord));
    if (Carver* carver = carver_of_this_thread(); carver != nullptr)
        carver->give_back(record, class_of(bytes));
    else
        drop_holder(block_of(record), 1);
}

std::size_t RecordArena::blocks_mapped() noexcept
{
    return blocks_mapped_now.load(std::memory_order_relaxed);
}

} // namespace eventlet::detail
