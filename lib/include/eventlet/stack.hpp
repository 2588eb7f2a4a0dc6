/// \file
/// Guarded, pooled stacks for greenlets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

namespace eventlet {

/// Thrown when a stack cannot be mapped: out of memory, or out of memory
/// mappings (each guarded stack takes two of the `vm.max_map_count` a
/// process may have). The message says which limit was hit and how to raise it.
class StackAllocationError : public std::system_error {
public:
    /// \param error the errno of the failed mmap or mprotect
    /// \param message what was being done, and how to get past the limit
    StackAllocationError(int error, const std::string& message);
};

/// A region of memory a greenlet runs on: `size` usable bytes above a
/// PROT_NONE guard page. Move-only; the destructor unmaps it.
class Stack {
public:
    /// An empty stack (no mapping).
    Stack() noexcept = default;
    /// Maps a new stack with at least `usable_size` usable bytes.
    /// \throws StackAllocationError when the kernel refuses the mapping.
    explicit Stack(std::size_t usable_size);
    ~Stack();
    /// Takes over `other`'s mapping, leaving `other` empty.
    Stack(Stack&& other) noexcept;
    /// Unmaps this stack's memory, then takes over `other`'s mapping.
    Stack& operator=(Stack&& other) noexcept;
    Stack(const Stack&) = delete;
    Stack& operator=(const Stack&) = delete;

    /// Lowest usable address (the stack grows down towards the guard below it).
    void* bottom() const noexcept { return usable_; }
    /// Number of usable bytes, a multiple of the page size.
    std::size_t size() const noexcept { return usable_size_; }
    /// True if this object owns a mapping.
    explicit operator bool() const noexcept { return usable_ != nullptr; }
    /// True if `address` lies in this stack's guard page.
    bool guard_contains(const void* address) const noexcept;

private:
    void unmap() noexcept;

    // 16 bytes, since every green thread has one: the guard page lies just
    // below the usable part, and the mapping is the two together.
    char* usable_ = nullptr;
    std::uint32_t usable_size_ = 0;
    unsigned valgrind_id_ = 0;
};

/// A per-thread cache of stacks of one standard size, so that a program
/// that runs many short greenlets maps memory once, not once per greenlet.
class StackPool {
public:
    /// Counters that show what the pool holds.
    struct Stats {
        std::size_t in_use = 0;   ///< stacks handed out and not yet given back
        std::size_t cached = 0;   ///< stacks kept for reuse
        std::size_t mapped = 0;   ///< stacks ever mapped by this pool
    };

    /// Default usable size of a greenlet's stack: 256 KiB (memory is
    /// committed only as the greenlet touches it).
    static constexpr std::size_t default_stack_size = 256 * 1024;
    /// Smallest stack a greenlet may ask for: below this, the entry code,
    /// one thrown exception and a signal frame no longer fit.
    static constexpr std::size_t min_stack_size = 16 * 1024;
    /// Default number of free stacks kept for reuse: a default GreenPool's
    /// worth (1000 green threads that block, then end together). Mapping a
    /// stack anew costs four system calls and a page fault (mmap, mprotect,
    /// the first touch, munmap), more than the rest of a short green
    /// thread's life; a cached one costs its touched pages (usually one or
    /// two) and two mappings.
    static constexpr std::size_t default_max_cached = 1024;

    /// The calling OS thread's pool.
    static StackPool& local();

    /// A stack of at least `size` usable bytes: a cached one if `size` is
    /// the standard size and one is free, else a new mapping.
    /// \throws StackAllocationError when a new mapping is refused.
    Stack acquire(std::size_t size = default_stack_size);
    /// Gives a stack back: kept for reuse if it has the standard size and
    /// the cache has room, unmapped otherwise.
    void release(Stack stack) noexcept;
    /// Unmaps every cached stack.
    void trim() noexcept;
    /// Sets how many free stacks are kept (trims the surplus at once).
    void set_max_cached(std::size_t count) noexcept;
    /// What the pool holds now.
    Stats stats() const noexcept;

private:
    StackPool() = default;
    std::vector<Stack> free_;
    std::size_t max_cached_ = default_max_cached;
    std::size_t in_use_ = 0;
    std::size_t mapped_ = 0;
};

} // namespace eventlet
