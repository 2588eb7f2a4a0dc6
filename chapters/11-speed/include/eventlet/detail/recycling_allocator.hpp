/// \file
/// An allocator that keeps the blocks it frees, for the records the hub makes
/// and drops at every turn (a scheduled call, a green thread's state).
#pragma once

#include <cstddef>
#include <memory>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace eventlet::detail {

/// A std::allocator that keeps up to `keep` freed single objects of its type
/// per OS thread and hands them out again, so that a record made and dropped
/// again and again costs no trip to malloc on the steady state. Arrays, and
/// blocks beyond `keep`, go to std::allocator as usual.
///
/// A block freed on another thread than the one that made it joins that
/// thread's list: memory is memory. Blocks kept by a thread are freed when
/// the thread exits; a block freed after that (by another thread-local's
/// destructor) goes straight back to std::allocator. Under AddressSanitizer
/// a kept block is poisoned, so that a use after free is still reported.
template <class T, std::size_t keep = 4096>
class RecyclingAllocator {
public:
    /// What the allocator hands out.
    using value_type = T;
    /// The same allocator for another type, as std::allocate_shared needs.
    template <class U>
    struct rebind {
        /// The allocator of `U` blocks, with its own list.
        using other = RecyclingAllocator<U, keep>;
    };

    /// Stateless: every instance shares the thread's list.
    RecyclingAllocator() noexcept = default;
    /// Converts from the allocator of another type (stateless, so nothing to copy).
    template <class U>
    explicit(false) RecyclingAllocator(const RecyclingAllocator<U, keep>& /*other*/) noexcept
    {
    }

    /// A block for `count` objects: a kept one when `count` is 1 and the
    /// thread has one. \throws std::bad_alloc as std::allocator does.
    T* allocate(std::size_t count)
    {
        if (count == 1) {
            if (FreeList* list = FreeList::of_this_thread(); list != nullptr && list->first != nullptr) {
                Block* block = list->first;
                unpoison(block);
                list->first = block->next;
                --list->kept;
                block->~Block();
                return static_cast<T*>(static_cast<void*>(block));
            }
        }
        return std::allocator<T>{}.allocate(count);
    }

    /// Gives a block back: kept for reuse if the list has room, else freed.
    void deallocate(T* pointer, std::size_t count) noexcept
    {
        if (count == 1) {
            if (FreeList* list = FreeList::of_this_thread(); list != nullptr && list->kept < keep) {
                list->first = ::new (static_cast<void*>(pointer)) Block{list->first};
                ++list->kept;
                poison(list->first);
                return;
            }
        }
        std::allocator<T>{}.deallocate(pointer, count);
    }

    /// Any two instances can free each other's blocks.
    template <class U>
    friend bool operator==(const RecyclingAllocator& /*a*/,
                           const RecyclingAllocator<U, keep>& /*b*/) noexcept
    {
        return true;
    }

private:
    // A kept block holds the link to the next one in its own bytes.
    struct Block {
        Block* next;
    };
    static_assert(sizeof(T) >= sizeof(Block) && alignof(T) >= alignof(Block),
                  "a kept block must have room for the link to the next one");

    // A kept block is nobody's: AddressSanitizer reports any access to it
    // but the list's own, which unpoisons it first.
    static void poison([[maybe_unused]] Block* block) noexcept
    {
#if defined(__SANITIZE_ADDRESS__)
        __asan_poison_memory_region(block, sizeof(T));
#endif
    }
    static void unpoison([[maybe_unused]] Block* block) noexcept
    {
#if defined(__SANITIZE_ADDRESS__)
        __asan_unpoison_memory_region(block, sizeof(T));
#endif
    }

    struct FreeList {
        Block* first = nullptr;
        std::size_t kept = 0;

        FreeList() noexcept = default;
        FreeList(const FreeList&) = delete;
        FreeList& operator=(const FreeList&) = delete;
        ~FreeList()
        {
            destroyed() = true;
            while (first != nullptr) {
                Block* block = first;
                unpoison(block);
                first = block->next;
                block->~Block();
                std::allocator<T>{}.deallocate(static_cast<T*>(static_cast<void*>(block)), 1);
            }
        }

        // Null once the thread is exiting and its list is gone: a
        // thread_local must not be used again after its destructor ran.
        static FreeList* of_this_thread() noexcept
        {
            if (destroyed())
                return nullptr;
            thread_local FreeList list;
            return &list;
        }

        // A trivially destructible flag stays readable during thread exit.
        static bool& destroyed() noexcept
        {
            constinit thread_local bool gone = false;
            return gone;
        }
    };
};

} // namespace eventlet::detail
