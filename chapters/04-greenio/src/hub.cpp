#include "eventlet/hub.hpp"

#include <stdexcept>
#include <utility>

#include <asio/post.hpp>

#include "hub_impl.hpp"
#include "report.hpp"

namespace eventlet {

Hub::Impl::Impl()
    : greenlet([this] { run_loop(); }, {.name = "hub", .parent = &Greenlet::root()})
{
}

Hub::Impl::~Impl()
{
    // Asio would close the descriptors it watches; they belong to the user.
    for (auto& [fd, watch] : watches)
        watch->descriptor.release();
}

// The body of the hub's greenlet. Asio counts its outstanding work: timers,
// descriptor waits, posted calls. When run() returns, none is left, so no
// parked greenlet can ever be woken: tell the root instead of hanging.
void Hub::Impl::run_loop()
{
    for (;;) {
        io.restart();
        io.run();
        Greenlet::root().throw_in(std::make_exception_ptr(
            Deadlock("every green thread is waiting and nothing can wake one: the hub has no "
                     "timers, no descriptors to watch and no callbacks left")));
    }
}

void Hub::Impl::run_reporting(const std::function<void()>& callback)
{
    try {
        callback();
    } catch (const GreenletExit&) {
        // A greenlet that ends with GreenletExit returns normally, so this
        // one was thrown into the hub itself: let it unwind the loop.
        throw;
    } catch (...) {
        // An exception escaping a callback, or a green thread whose parent
        // is the hub: nobody waits for it, and the loop must go on.
        detail::report_current_exception("a hub callback");
    }
}

void Hub::Impl::fire(detail::TimerState& state)
{
    if (state.done)
        return;
    state.done = true;
    // Moved out first, so that the callback may cancel its own handle.
    const std::function<void()> callback = std::move(state.callback);
    run_reporting(callback);
}

void Hub::Impl::resume(Greenlet& greenlet)
{
    run_reporting([&greenlet] { greenlet.switch_to(); });
}

Greenlet& Hub::Impl::blockable_current() const
{
    Greenlet& current = Greenlet::current();
    if (&current == &greenlet)
        throw std::logic_error("cannot block inside the hub: a hub callback must not sleep or wait");
    return current;
}

namespace {

// This thread's hub while it lives. A plain pointer, unlike the hub itself,
// stays readable during the thread's exit, after the hub is destroyed.
constinit thread_local Hub* live_hub = nullptr;

} // namespace

Hub::Hub() : impl_(std::make_unique<Impl>()) { live_hub = this; }

Hub::~Hub() { live_hub = nullptr; }

Hub* Hub::existing() noexcept { return live_hub; }

Hub& Hub::current()
{
    thread_local Hub hub;
    return hub;
}

std::any Hub::switch_to()
{
    impl_->blockable_current();
    return impl_->greenlet.switch_to();
}

Greenlet& Hub::greenlet() noexcept { return impl_->greenlet; }

asio::io_context& Hub::io_context() noexcept { return impl_->io; }

TimerHandle Hub::schedule_call(Seconds delay, std::function<void()> callback)
{
    if (!callback)
        throw std::invalid_argument("schedule_call needs a callback");
    auto state = std::make_shared<detail::TimerState>(std::move(callback));
    Impl* impl = impl_.get();
    if (delay.count() <= 0) {
        // A posted call runs after those already queued: FIFO, and fair to I/O.
        asio::post(impl->io, [impl, state] { impl->fire(*state); });
    } else {
        state->timer.emplace(impl->io, delay.to_steady());
        state->timer->async_wait([impl, state](std::error_code) { impl->fire(*state); });
    }
    return TimerHandle(std::move(state));
}

TimerHandle::TimerHandle(std::shared_ptr<detail::TimerState> state) noexcept
    : state_(std::move(state))
{
}

void TimerHandle::cancel() noexcept
{
    if (!state_ || state_->done)
        return;
    state_->done = true;
    state_->callback = nullptr;
    // Takes the timer out of Asio's queue at once, so that a cancelled timer
    // no longer counts as something that could wake a greenlet.
    if (state_->timer)
        state_->timer->cancel();
}

bool TimerHandle::pending() const noexcept { return state_ && !state_->done; }

void sleep(Seconds seconds)
{
    Hub& hub = Hub::current();
    Greenlet& sleeper = Greenlet::current();
    TimerHandle wake = hub.schedule_call(seconds, [&sleeper] { sleeper.switch_to(); });
    // However this greenlet leaves (woken, or unwound by an exception thrown
    // into it), the timer must not fire later into a greenlet that moved on.
    detail::CancelOnExit cancel_wake(wake);
    hub.switch_to();
}

} // namespace eventlet
