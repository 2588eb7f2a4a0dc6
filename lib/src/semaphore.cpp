#include "eventlet/semaphore.hpp"

#include <limits>
#include <stdexcept>
#include <string>

namespace eventlet {

Semaphore::Semaphore(int permits) : Semaphore(permits, std::nullopt) {}

Semaphore::Semaphore(int permits, std::optional<int> limit) : counter_(permits), limit_(limit)
{
    if (permits < 0)
        throw std::invalid_argument("a semaphore cannot start with " + std::to_string(permits) +
                                    " permits");
}

BoundedSemaphore::BoundedSemaphore(int permits) : Semaphore(permits, permits) {}

void Semaphore::acquire() { acquire_until(detail::Deadline(std::nullopt)); }

bool Semaphore::acquire(Seconds timeout) { return acquire_until(detail::Deadline(timeout)); }

bool Semaphore::acquire_until(const detail::Deadline& deadline)
{
    if (try_acquire())
        return true;
    // Wait in line. Being woken is a chance, not a promise: check again.
    // (The first in line is the one woken, and newcomers queue behind it,
    // so in practice the permit released for it is still there.)
    do {
        if (waiters_.park(deadline) == detail::WaitQueue::Woken::timed_out)
            return false;
    } while (counter_ <= 0);
    --counter_;
    return true;
}

bool Semaphore::try_acquire() noexcept
{
    if (locked())
        return false;
    --counter_;
    return true;
}

void Semaphore::release()
{
    if (limit_ && counter_ >= *limit_)
        throw std::logic_error("a bounded semaphore of " + std::to_string(*limit_) +
                               " permits was released more often than acquired");
    if (counter_ == std::numeric_limits<int>::max())
        throw std::overflow_error("a semaphore cannot count past " + std::to_string(counter_) +
                                  " permits");
    waiters_.check_notifier();
    ++counter_;
    waiters_.notify_one();
}

} // namespace eventlet
