/// \file
/// Memory for green threads' states: carved from large blocks of the OS
/// thread's own, so that a burst of spawns touches few fresh pages.
#pragma once

#include <cstddef>
#include <memory>
#include <new>

namespace eventlet::detail {

/// Per-OS-thread memory for records of up to `max_record` bytes, beside
/// malloc, for the one record a spawn burst makes by the hundred thousand:
/// a green thread's state.
///
/// Why not malloc: a burst keeps every state alive at once, and each fresh
/// 4 KiB page the heap grows into costs a page fault, which on a virtual
/// machine costs microseconds: with a few hundred bytes a state, the faults
/// are most of what a spawn costs on malloc's heap. The arena carves records from blocks of
/// 2 MiB mapped on their own. While the thread has less than
/// `small_page_blocks` blocks' worth of records out (8 MiB, some 20,000
/// states), a block has 4 KiB pages, asked for 64 KiB at a time, so that a
/// program's resident memory grows by what its states take; past that, a
/// burst is under way and a new block asks for a transparent huge page
/// (`MADV_HUGEPAGE`): one fault for 2 MiB.
///
/// A freed record goes on the freeing thread's list for its size (in steps
/// of 16 bytes), up to `kept_per_size` of them, and is handed out again,
/// newest first. Beyond that it goes back to its block, where the thread
/// that carved it takes it up again the next time it needs room. A block is
/// unmapped once none of its records is out: at once when its own thread
/// gives back the last one, at that thread's next need for room when
/// another thread did, and with the last one when its thread has exited.
/// After a burst, what a thousand records per size do not hold goes back to
/// the system.
class RecordArena {
public:
    /// The largest record the arena hands out; larger ones go to malloc.
    static constexpr std::size_t max_record = 2048;
    /// The alignment (and size step) of every record.
    static constexpr std::size_t record_alignment = 16;
    /// The size of a block, and its alignment.
    static constexpr std::size_t block_bytes = std::size_t{2} << 20;
    /// How many blocks' worth of records a thread has out before its new
    /// blocks ask for huge pages.
    static constexpr std::size_t small_page_blocks = 4;
    /// How many freed records of one size a thread keeps for reuse.
    static constexpr std::size_t kept_per_size = 1024;

    /// A record of `bytes` (1 to max_record) for the calling thread.
    /// \throws std::bad_alloc when no block can be mapped.
    static void* allocate(std::size_t bytes);
    /// Gives back a record of `bytes` obtained from allocate(), on any thread.
    static void deallocate(void* record, std::size_t bytes) noexcept;
    /// How many blocks are mapped now, in the whole process (for tests).
    static std::size_t blocks_mapped() noexcept;
};

/// A std::allocator over RecordArena, for std::allocate_shared of one
/// record (arrays go to std::allocator, as do types too large or too aligned).
template <class T>
class ArenaAllocator {
public:
    /// What the allocator hands out.
    using value_type = T;

    /// Stateless: every instance uses the calling thread's arena.
    ArenaAllocator() noexcept = default;
    /// Converts from the allocator of another type (stateless, so nothing to copy).
    template <class U>
    explicit(false) ArenaAllocator(const ArenaAllocator<U>& /*other*/) noexcept
    {
    }

    /// A block for `count` objects. \throws std::bad_alloc.
    T* allocate(std::size_t count)
    {
        if (count == 1 && in_arena)
            return static_cast<T*>(RecordArena::allocate(sizeof(T)));
        return std::allocator<T>{}.allocate(count);
    }
    /// Gives back a block from allocate().
    void deallocate(T* pointer, std::size_t count) noexcept
    {
        if (count == 1 && in_arena)
            RecordArena::deallocate(pointer, sizeof(T));
        else
            std::allocator<T>{}.deallocate(pointer, count);
    }

    /// Any two instances can free each other's blocks.
    template <class U>
    friend bool operator==(const ArenaAllocator& /*a*/, const ArenaAllocator<U>& /*b*/) noexcept
    {
        return true;
    }

private:
    static constexpr bool in_arena =
        sizeof(T) <= RecordArena::max_record && alignof(T) <= RecordArena::record_alignment;
};

} // namespace eventlet::detail
