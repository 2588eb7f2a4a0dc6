// Private: an allocator for the hub's large, growing arrays, whose freed
// blocks go back to the system at once.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <memory>
#include <new>

namespace eventlet::detail {

/// A std::allocator that maps a large block (`mapped_bytes` or more) with
/// mmap() and unmaps it when it is freed.
///
/// Why: a std::vector grows by moving to a block twice as large. With
/// malloc's blocks, the ones it moved out of stay resident: glibc raises its
/// mmap threshold past a freed mapped block, so the next ones come from the
/// heap, which keeps what is freed. A queue of timers that grew to 20,000
/// entries would hold its last block and every earlier one, 2.6 times what
/// it uses, for good. Mapped on its own, a block that is left is gone, and
/// of the one in use only the pages written are resident.
template <class T>
class MappedAllocator {
public:
    /// What the allocator hands out.
    using value_type = T;
    /// From this size up, a block is mapped on its own.
    static constexpr std::size_t mapped_bytes = std::size_t{64} << 10;

    /// Stateless.
    MappedAllocator() noexcept = default;
    /// Converts from the allocator of another type (stateless, nothing to copy).
    template <class U>
    explicit(false) MappedAllocator(const MappedAllocator<U>& /*other*/) noexcept
    {
    }

    /// A block for `count` objects. \throws std::bad_alloc.
    T* allocate(std::size_t count)
    {
        const std::size_t bytes = count * sizeof(T);
        if (count > max_count() || bytes < mapped_bytes)
            return std::allocator<T>{}.allocate(count);
        void* block = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (block == MAP_FAILED)
            throw std::bad_alloc();
        return static_cast<T*>(block);
    }
    /// Gives back a block from allocate(`count`).
    void deallocate(T* block, std::size_t count) noexcept
    {
        const std::size_t bytes = count * sizeof(T);
        if (count > max_count() || bytes < mapped_bytes)
            std::allocator<T>{}.deallocate(block, count);
        else
            ::munmap(block, bytes);
    }

    /// Any two instances can free each other's blocks.
    template <class U>
    friend bool operator==(const MappedAllocator& /*a*/, const MappedAllocator<U>& /*b*/) noexcept
    {
        return true;
    }

private:
    static constexpr std::size_t max_count() noexcept { return static_cast<std::size_t>(-1) / sizeof(T); }
};

} // namespace eventlet::detail
