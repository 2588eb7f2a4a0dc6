#include "eventlet/stack.hpp"

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <chrono>
#include <fstream>
#include <new>
#include <string>
#include <utility>

#include <valgrind/valgrind.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace eventlet {
namespace {

std::size_t page_size() noexcept
{
    static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

std::size_t round_up_to_pages(std::size_t bytes) noexcept
{
    const std::size_t page = page_size();
    return (bytes + page - 1) / page * page;
}

// Counting the lines of /proc/self/maps takes milliseconds once there are
// tens of thousands of mappings, and a program past the limit can fail
// thousands of times in a row (every green thread it spawns): the count is
// taken again at most once a second, per thread.
std::string mapping_limit_hint()
{
    thread_local std::string hint;
    thread_local std::chrono::steady_clock::time_point taken;
    const auto now = std::chrono::steady_clock::now();
    if (!hint.empty() && now - taken < std::chrono::seconds(1))
        return hint;
    std::ifstream maps("/proc/self/maps");
    std::size_t mappings = 0;
    for (std::string line; std::getline(maps, line);)
        ++mappings;
    std::ifstream limit_file("/proc/sys/vm/max_map_count");
    std::size_t limit = 0;
    limit_file >> limit;
    // The mmap() fails with ENOMEM at either limit: the count of mappings,
    // or the process's address space (ulimit -v). Name the one that is near.
    rlimit address_space{};
    const bool space_limited = ::getrlimit(RLIMIT_AS, &address_space) == 0 && address_space.rlim_cur != RLIM_INFINITY;
    const bool near_map_limit = limit == 0 || mappings * 10 >= limit * 9;
    if (near_map_limit || !space_limited) {
        hint = "the process has " + std::to_string(mappings) + " memory mappings and vm.max_map_count is " +
               (limit == 0 ? std::string("unknown") : std::to_string(limit)) +
               "; every guarded stack takes two. Keep fewer greenlets alive at once, or raise the limit "
               "(sysctl -w vm.max_map_count=262144)";
    } else {
        hint = "the process's address space is limited to " + std::to_string(address_space.rlim_cur >> 20) +
               " MiB (ulimit -v, RLIMIT_AS), and every stack counts against it with its whole size. "
               "Keep fewer greenlets alive at once, give them smaller stacks, or raise the limit";
    }
    taken = now;
    return hint;
}

} // namespace

StackAllocationError::StackAllocationError(int error, const std::string& message)
    : std::system_error(error, std::generic_category(), message)
{
}

Stack::Stack(std::size_t usable_size)
{
    const std::size_t guard = page_size();
    // The size is checked before it is rounded too: one within a page of
    // SIZE_MAX rounds up past it, to a stack of nothing.
    const std::size_t usable = usable_size > UINT32_MAX ? usable_size : round_up_to_pages(usable_size);
    if (usable > UINT32_MAX)
        throw StackAllocationError(EINVAL, "cannot map a greenlet stack of " +
                                               std::to_string(usable / 1024) +
                                               " KiB: a stack is at most 4 GiB");
    void* mapping = ::mmap(nullptr, guard + usable, PROT_NONE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED) {
        const int error = errno;
        throw StackAllocationError(error, "cannot map a greenlet stack of " +
                                              std::to_string(usable / 1024) + " KiB: " +
                                              mapping_limit_hint());
    }
    char* const usable_start = static_cast<char*>(mapping) + guard;
    if (::mprotect(usable_start, usable, PROT_READ | PROT_WRITE) != 0) {
        const int error = errno;
        ::munmap(mapping, guard + usable);
        throw StackAllocationError(error, "cannot make a greenlet stack writable: " +
                                              mapping_limit_hint());
    }
    usable_ = usable_start;
    usable_size_ = static_cast<std::uint32_t>(usable);
    valgrind_id_ = VALGRIND_STACK_REGISTER(usable_, usable_ + usable_size_);
}

Stack::~Stack() { unmap(); }

Stack::Stack(Stack&& other) noexcept
    : usable_(std::exchange(other.usable_, nullptr)),
      usable_size_(std::exchange(other.usable_size_, 0)),
      valgrind_id_(std::exchange(other.valgrind_id_, 0))
{
}

Stack& Stack::operator=(Stack&& other) noexcept
{
    if (this != &other) {
        unmap();
        usable_ = std::exchange(other.usable_, nullptr);
        usable_size_ = std::exchange(other.usable_size_, 0);
        valgrind_id_ = std::exchange(other.valgrind_id_, 0);
    }
    return *this;
}

bool Stack::guard_contains(const void* address) const noexcept
{
    const char* byte = static_cast<const char*>(address);
    return usable_ != nullptr && byte >= usable_ - page_size() && byte < usable_;
}

void Stack::unmap() noexcept
{
    if (usable_ == nullptr)
        return;
    VALGRIND_STACK_DEREGISTER(valgrind_id_);
    const std::size_t guard = page_size();
    ::munmap(usable_ - guard, guard + usable_size_);
    usable_ = nullptr;
    usable_size_ = 0;
}

StackPool& StackPool::local()
{
    thread_local StackPool pool;
    return pool;
}

Stack StackPool::acquire(std::size_t size)
{
    Stack stack;
    if (round_up_to_pages(size) == default_stack_size && !free_.empty()) {
        stack = std::move(free_.back());
        free_.pop_back();
    } else {
        stack = Stack(size);
        ++mapped_;
    }
    ++in_use_;
    return stack;
}

void StackPool::release(Stack stack) noexcept
{
    if (!stack)
        return;
    --in_use_;
#if defined(__SANITIZE_ADDRESS__)
    // A finished greenlet never returns from its first frame, so ASan's
    // poison for that frame's redzones is still in the shadow memory. The
    // next greenlet on this stack must not inherit it.
    ASAN_UNPOISON_MEMORY_REGION(stack.bottom(), stack.size());
#endif
    if (stack.size() != default_stack_size || free_.size() >= max_cached_)
        return; // the destructor unmaps it
    try {
        free_.push_back(std::move(stack));
    } catch (const std::bad_alloc&) {
        // No room to remember it: unmapping it is just as correct.
    }
}

void StackPool::trim() noexcept { free_.clear(); }

void StackPool::set_max_cached(std::size_t count) noexcept
{
    max_cached_ = count;
    if (free_.size() > count)
        free_.resize(count);
}

StackPool::Stats StackPool::stats() const noexcept
{
    return Stats{in_use_, free_.size(), mapped_};
}

} // namespace eventlet
