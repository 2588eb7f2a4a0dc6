#include "eventlet/greenthread.hpp"

#include <stdexcept>
#include <string>

#include "eventlet/hub.hpp"
#include "hub_impl.hpp"
#include "report.hpp"
#include "thread_state.hpp"

namespace eventlet::detail {

GreenThreadCore::GreenThreadCore(bool detached)
    : TimerNode(&start_now),
      detached_(detached),
      greenlet_([this] { main(); }, {.parent = &Hub::current().greenlet()})
{
}

GreenThreadCore::~GreenThreadCore()
{
    // The last handle let go on another OS thread: the greenlet is in its
    // hub's list of children, which the hub's own thread changes at every
    // spawn, and its start may be in that hub's queue. Neither may be touched
    // from here, and a destructor cannot throw. (A green thread whose OS
    // thread has exited has no parent left, and belongs to nobody: any
    // thread may free it.)
    if (!GreenletInternals::on_this_thread(greenlet_) && greenlet_.parent() != nullptr) [[unlikely]]
        fatal_misuse("the last GreenThread handle on green thread '" + greenlet_.name() +
                     "' was dropped on another OS thread than its own; its record belongs to "
                     "the hub that thread runs: drop the last handle there (hand results "
                     "across threads, not handles)");
    if (start_node().queue != nullptr)
        start_node().queue->remove(start_node());
}

void GreenThreadCore::start(Seconds delay, std::shared_ptr<GreenThreadCore> self)
{
    HubInternals::impl(Hub::current()).timers.push(start_node(), delay.to_steady());
    keep_alive_ = std::move(self); // after the push, which may throw: no cycle left behind
}

void GreenThreadCore::start_now(TimerNode& node, TimerEvent event)
{
    auto& core = static_cast<GreenThreadCore&>(node);
    // The hub went (its thread exits) before the green thread's turn came:
    // it never runs, and its state goes with the last handle on it, as the
    // hub's other pending calls do, instead of holding itself for ever.
    if (event == TimerEvent::dropped) {
        const std::shared_ptr<GreenThreadCore> self = std::move(core.keep_alive_);
        return;
    }
    try {
        core.greenlet_.switch_to();
    } catch (const StackAllocationError&) {
        if (core.greenlet_.started())
            throw;
        // No stack for it (too many alive at once): it ends before it
        // begins, and its waiters get the error instead of waiting for ever.
        const std::shared_ptr<GreenThreadCore> self = std::move(core.keep_alive_);
        // In the hub, which nothing is thrown into.
        (void)core.finish(std::current_exception());
    }
}

// The body of the green thread's greenlet.
void GreenThreadCore::main()
{
    std::exception_ptr error;
    try {
        invoke();
    } catch (...) {
        error = std::current_exception(); // GreenletExit too: wait() rethrows it
    }
    // In itself: an interruption while a link runs stops the links there.
    (void)finish(error);
    // Perhaps the last reference to this object, which owns the greenlet we
    // are running on: it must not be dropped here. The greenlet that runs
    // next (the hub) drops it, once this one has left its stack.
    ThreadState::get().finished_owner = std::move(keep_alive_);
}

void GreenThreadCore::run_inline()
{
    if (greenlet_.started() || finished_)
        throw std::logic_error("green thread '" + greenlet_.name() + "' has already run");
    Greenlet& caller = Greenlet::current();
    const std::uint16_t interruptions = GreenletInternals::interruptions(caller);
    std::exception_ptr error;
    bool meant_for_caller = false;
    try {
        invoke();
    } catch (const GreenletExit&) {
        error = std::current_exception();
        meant_for_caller = true;
    } catch (...) {
        error = std::current_exception();
        // Thrown into the caller while the call ran (its Timeout, a kill):
        // the caller's, which the call let through, not only the call's.
        meant_for_caller = GreenletInternals::interruptions(caller) != interruptions;
    }
    const std::exception_ptr interrupted = finish(error);
    if (meant_for_caller)
        std::rethrow_exception(error);
    if (interrupted)
        std::rethrow_exception(interrupted);
}

std::exception_ptr GreenThreadCore::finish(std::exception_ptr error) noexcept
{
    finished_ = true;
    if (error && detached_) {
        try {
            std::rethrow_exception(error);
        } catch (const GreenletExit&) {
            // Killed: a normal way to end, not worth a report.
        } catch (...) {
            report_current_exception("green thread '" + greenlet_.name() + "'");
        }
    } else {
        error_ = std::move(error);
    }
    waiters_.notify_all();
    return run_links();
}

std::exception_ptr GreenThreadCore::run_links() noexcept
{
    // Most run in the green thread itself, after its function; those of one
    // that never started run in whoever ended it (kill(), cancel(), a pool
    // running it inline).
    Greenlet& runner = Greenlet::current();
    const bool in_itself = &runner == &greenlet_;
    std::exception_ptr interruption;
    // Links may be added while links run: take them one at a time.
    while (links_ && !links_->empty()) {
        std::function<void()> link = std::move(links_->front());
        links_->erase(links_->begin());
        const std::uint16_t interruptions = GreenletInternals::interruptions(runner);
        std::exception_ptr failure;
        bool exited = false;
        try {
            link();
        } catch (const GreenletExit&) {
            failure = std::current_exception();
            exited = true;
        } catch (...) {
            failure = std::current_exception();
        }
        if (!failure)
            continue;
        const bool interrupted = GreenletInternals::interruptions(runner) != interruptions;
        if (in_itself && (interrupted || exited)) {
            links_->clear(); // killed while in a link: stop here
            return nullptr;
        }
        if (interrupted) {
            // Thrown into the green thread that ended this one, whose links
            // these are not: they all still run, and the first interruption
            // goes on to it afterwards.
            if (!interruption)
                interruption = std::move(failure);
            continue;
        }
        try {
            std::rethrow_exception(failure);
        } catch (...) {
            report_current_exception("a link of green thread '" + greenlet_.name() + "'");
        }
    }
    return interruption;
}

void GreenThreadCore::wait_for_end()
{
    join();
    if (error_)
        std::rethrow_exception(error_);
}

void GreenThreadCore::join()
{
    // Its links run in it after it has ended, and may look at the result.
    if (!finished_ && &Greenlet::current() == &greenlet_)
        throw std::logic_error("green thread '" + greenlet_.name() + "' cannot wait for itself");
    // It will wake its waiters through its own hub: a waiter parked on
    // another thread's would never be woken, or woken by the wrong thread.
    if (!finished_)
        check_thread("wait");
    while (!finished_)
        waiters_.park();
}

void GreenThreadCore::check_thread(const char* operation) const
{
    // Even one not started is on its own thread's hub queue, and the
    // waiters it would wake are parked on that hub: no other thread may
    // touch either.
    if (!GreenletInternals::on_this_thread(greenlet_))
        throw std::logic_error(std::string(operation) + " of green thread '" + greenlet_.name() +
                               "' from another OS thread than its own (hand the call to its hub "
                               "with a HubHandle)");
}

void GreenThreadCore::kill(std::exception_ptr error)
{
    check_thread("kill");
    // Ended, but still alive if parked in one of its links (they run in it
    // after its function returned): there it is interrupted, as in Eventlet.
    if (finished_ && (!greenlet_.started() || greenlet_.dead()))
        return;
    if (!greenlet_.started()) {
        // It never ran and never will: it ends now, with `error` as its outcome.
        if (start_node().queue != nullptr)
            start_node().queue->remove(start_node());
        const std::shared_ptr<GreenThreadCore> self = std::move(keep_alive_);
        // Its links run here, in the killer: a kill or Timeout of the killer
        // while one of them waits is the killer's to receive.
        if (const std::exception_ptr interrupted = finish(std::move(error)))
            std::rethrow_exception(interrupted);
        return;
    }
    Greenlet& killer = Greenlet::current();
    if (&killer == &greenlet_)
        std::rethrow_exception(error);
    // Parked in a destructor while it unwinds (an earlier kill, or its own
    // exception): it is on its way out already, and a second exception
    // thrown there would end the process.
    if (GreenletInternals::suspended_unwinding(greenlet_))
        return;
    Hub& hub = Hub::current();
    // The killer yields, as in Eventlet: the target runs now (it unwinds),
    // and the killer resumes at the hub's next turn. Unless the killer leaves
    // early (something thrown into it), then the resume must not happen.
    GreenletWake resume_killer(killer);
    if (&killer != &hub.greenlet())
        HubInternals::impl(hub).timers.push(resume_killer, {});
    const UnqueueOnExit unqueue(resume_killer);
    greenlet_.throw_in(std::move(error));
}

bool GreenThreadCore::cancel()
{
    check_thread("cancel");
    if (greenlet_.started() || finished_)
        return false;
    kill(std::make_exception_ptr(GreenletExit{}));
    return true;
}

void GreenThreadCore::add_link(std::function<void()> callback)
{
    if (!finished_) {
        if (!links_)
            links_ = std::make_unique<std::vector<std::function<void()>>>();
        links_->push_back(std::move(callback));
        return;
    }
    // It ended already: the link runs now, in the caller.
    Greenlet& caller = Greenlet::current();
    const std::uint16_t interruptions = GreenletInternals::interruptions(caller);
    try {
        callback();
    } catch (...) {
        // Thrown into the caller while the link waited (a kill, a Timeout):
        // the caller's, not the link's failure.
        if (GreenletInternals::interruptions(caller) != interruptions)
            throw;
        report_current_exception("a link of green thread '" + greenlet_.name() + "'");
    }
}

} // namespace eventlet::detail
