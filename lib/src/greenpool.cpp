#include "eventlet/greenpool.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "report.hpp"
#include "thread_state.hpp"

namespace eventlet {

namespace detail {

bool PoolState::must_run_inline() const
{
    return running >= size && members.contains(&Greenlet::current());
}

void PoolState::acquire_slot()
{
    // In line behind those already waiting, as a Semaphore: a slot freed
    // for the first in line is still there when it wakes.
    if (running < size && spawners.empty()) {
        take_slot();
        return;
    }
    do {
        spawners.park();
        if (destroyed)
            throw std::logic_error("a green pool was destroyed while a green thread waited in "
                                   "spawn() for a slot: a pool must outlive its spawners");
    } while (running >= size);
    take_slot();
    // Slots freed together (a resize) wake one waiter each; if more are
    // free, pass the turn on.
    if (running < size)
        spawners.notify_one();
}

void PoolState::release_slot(const Greenlet* member) noexcept
{
    if (member != nullptr)
        members.erase(member);
    --running;
    try {
        if (running < size)
            spawners.notify_one();
        if (running == 0)
            emptied.notify_all();
    } catch (...) {
        report_current_exception("a green pool giving a slot back");
    }
}

void PoolState::throw_other_thread(const char* operation)
{
    throw std::logic_error(std::string("GreenPool::") + operation +
                           "() from another OS thread than the one its green threads run on (a pool "
                           "belongs to one hub while in use: give each thread a pool of its own, or "
                           "hand the call to that hub with a HubHandle)");
}

void throw_at_next_block(std::exception_ptr error, const char* owner) noexcept
{
    Hub& hub = Hub::current();
    Greenlet& target = Greenlet::current();
    if (&target == &hub.greenlet()) {
        try {
            std::rethrow_exception(std::move(error));
        } catch (...) {
            report_current_exception(owner);
        }
        return;
    }
    // As a Timeout does: from the hub, at the next turn, which comes when the
    // green thread blocks; one that ends first has nothing left to interrupt.
    hub.schedule_call(0, [&target, alive = target.lifetime(), error = std::move(error)] {
        if (alive.expired() || target.dead() || GreenletInternals::suspended_unwinding(target))
            return;
        target.throw_in(error);
    });
}

void fail_after_hub(const char* owner, std::size_t alive) noexcept
{
    std::fprintf(stderr,
                 "eventlet: fatal: %s: %zu green thread(s) still alive after their OS thread's hub "
                 "was destroyed; a green thread must not outlive its hub (read or destroy the "
                 "calls before the thread exits)\n",
                 owner, alive);
    std::abort();
}

} // namespace detail

std::size_t detail::pool_size(std::intmax_t count)
{
    if (count < 0)
        throw std::invalid_argument("a green pool's size cannot be negative: " + std::to_string(count));
    return static_cast<std::size_t>(count);
}

GreenPool::GreenPool(std::size_t size) : state_(std::make_shared<detail::PoolState>(size))
{
    if (size == 0)
        throw std::invalid_argument("a green pool needs at least one slot");
}

GreenPool::~GreenPool()
{
    state_->destroyed = true;
    try {
        state_->spawners.notify_all();
    } catch (...) {
        detail::report_current_exception("a green pool waking its spawners");
    }
}

void GreenPool::admit(detail::GreenThreadCore& thread)
{
    const Greenlet* member = &thread.greenlet();
    state_->members.insert(member);
    // The link runs in the green thread as it ends. It holds the state
    // weakly: a pool destroyed first has nobody left to tell.
    std::weak_ptr<detail::PoolState> weak = state_;
    try {
        thread.add_link([weak, member] {
            if (auto state = weak.lock())
                state->release_slot(member);
        });
    } catch (...) {
        state_->members.erase(member);
        throw;
    }
}

void GreenPool::waitall()
{
    state_->check_thread("waitall");
    if (state_->members.contains(&Greenlet::current()))
        throw std::logic_error("waitall() called from one of the pool's own green threads would "
                               "wait for itself for ever");
    // Hold the state: the pool may be destroyed by someone else meanwhile.
    const std::shared_ptr<detail::PoolState> state = state_;
    while (state->running > 0)
        state->emptied.park();
}

std::size_t GreenPool::free() const noexcept
{
    return state_->running < state_->size ? state_->size - state_->running : 0;
}

void GreenPool::resize(std::size_t new_size)
{
    if (new_size == 0)
        throw std::invalid_argument("a green pool needs at least one slot");
    state_->check_thread("resize");
    const std::size_t old_free = free();
    state_->size = new_size;
    // One wake-up is enough: each waiter that gets a slot passes the turn
    // on while slots remain (PoolState::acquire_slot).
    if (free() > old_free)
        state_->spawners.notify_one();
}

} // namespace eventlet
