/// \file
/// What Imap and GreenPile share: a line of calls whose results are read in order.
#pragma once

#include <cstddef>
#include <deque>
#include <exception>

#include "eventlet/detail/wait_queue.hpp"
#include "eventlet/greenlet.hpp"
#include "eventlet/hub.hpp"

namespace eventlet::detail {

/// Throws `error` into the calling green thread at its next blocking point:
/// for a kill or a Timeout that reached it in a destructor, which cannot
/// throw. `owner` names that destructor in a report on stderr, when the
/// caller is no green thread to throw into (the hub's own greenlet).
void throw_at_next_block(std::exception_ptr error, const char* owner) noexcept;
/// Ends the process with a message naming `owner`: `alive` of its green
/// threads are still alive after their thread's hub was destroyed.
[[noreturn]] void fail_after_hub(const char* owner, std::size_t alive) noexcept;

/// The green threads inside an advance() of one Imap or GreenPile. They
/// park there (for the oldest call, a pool slot, the input) in no line of
/// the owner's own, so no ~WaitQueue() sees them; and the owner's
/// destructor kills the calls they wait for, which wakes them into the
/// freed owner. The owner checks this list first instead, and stops the
/// program with their names, as a Queue destroyed under a getter does.
class Readers {
public:
    /// The running green thread in the list, for one advance(): whatever
    /// way that ends (a result, an error, an exception thrown into it).
    class Reading {
    public:
        /// Appends the running green thread to `readers`.
        explicit Reading(Readers& readers) : readers_(readers), greenlet_(&Greenlet::current())
        {
            previous_ = readers_.last_;
            (previous_ != nullptr ? previous_->next_ : readers_.first_) = this;
            readers_.last_ = this;
            ++readers_.size_;
        }
        /// Takes it out of the list, wherever it is: readers leave in any order.
        ~Reading()
        {
            (previous_ != nullptr ? previous_->next_ : readers_.first_) = next_;
            (next_ != nullptr ? next_->previous_ : readers_.last_) = previous_;
            --readers_.size_;
        }
        Reading(const Reading&) = delete;
        Reading& operator=(const Reading&) = delete;

    private:
        friend Readers;
        Readers& readers_;
        const Greenlet* greenlet_;
        Reading* previous_ = nullptr;
        Reading* next_ = nullptr;
    };

    /// Nobody reading yet.
    Readers() noexcept = default;
    Readers(const Readers&) = delete;
    Readers& operator=(const Readers&) = delete;

    /// Called by the owner's destructor before it frees or stops anything:
    /// ends the process, naming `owner` and the first reader, if any green
    /// thread is reading. Going on would let the reader read freed memory
    /// when it wakes, and a destructor cannot throw.
    void abort_if_read(const char* owner) const noexcept
    {
        if (first_ != nullptr) [[unlikely]]
            abort_destroyed_while_waited(owner, first_->greenlet_, size_ - 1);
    }

private:
    Reading* first_ = nullptr;
    Reading* last_ = nullptr;
    std::size_t size_ = 0;
};

/// Stops the green threads of `calls` whose results nobody will read:
/// those not started never run, those running are killed (they unwind).
/// `thread_of(element)` gives an element's GreenThread handle (or an empty one).
///
/// In two passes: cancelling never switches, but each kill yields, and in
/// that turn the hub would start any call not yet cancelled. A kill or a
/// Timeout that interrupts the caller during such a yield is not lost: the
/// calls are still all stopped, and then the caller gets it at its next
/// blocking point.
template <class Calls, class ThreadOf>
void stop_unread(Calls& calls, ThreadOf thread_of, const char* owner) noexcept
{
    // During the thread's exit, after its hub (a pile kept in a global, say),
    // a green thread not finished can be neither stopped nor unwound: all
    // that held it up is gone. Say so, rather than touch the hub's remains.
    if (Hub::existing() == nullptr) {
        std::size_t alive = 0;
        for (auto& call : calls)
            if (auto& thread = thread_of(call); thread && !thread.dead())
                ++alive;
        if (alive > 0)
            fail_after_hub(owner, alive);
        return;
    }
    for (auto& call : calls)
        if (auto& thread = thread_of(call))
            thread.cancel();
    std::exception_ptr interrupted;
    for (auto& call : calls) {
        auto& thread = thread_of(call);
        if (!thread || thread.dead())
            continue;
        try {
            thread.kill();
        } catch (...) {
            if (!interrupted)
                interrupted = std::current_exception();
        }
    }
    if (interrupted)
        throw_at_next_block(std::move(interrupted), owner);
}

/// Takes the oldest call's result out of `calls` into `current` (`thread_of`
/// as for stop_unread()), parking until the call has ended. If the wait is
/// interrupted (a Timeout, or a kill of the reader), the call stays first in
/// line and its result is not lost; if the call itself threw, it leaves the
/// line and its exception is rethrown here.
/// \returns false, with `current` untouched, when another green thread
///          reading the same line took the call while this one waited.
template <class Call, class ThreadOf, class Result>
bool take_oldest(std::deque<Call>& calls, ThreadOf thread_of, Result& current)
{
    // A handle of our own: the reader woken first pops the call, and with it
    // the handle in the line.
    auto oldest = thread_of(calls.front());
    oldest.join();
    if (calls.empty() || !(thread_of(calls.front()) == oldest))
        return false;
    calls.pop_front();
    current.emplace(oldest.wait()); // never parks now
    return true;
}

} // namespace eventlet::detail
