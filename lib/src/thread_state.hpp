// Private: the per-OS-thread state behind Greenlet. Not installed.
#pragma once

#include <any>
#include <exception>

#include "eventlet/greenlet.hpp"

namespace eventlet::detail {

/// Everything one OS thread needs to run greenlets: its root greenlet, the
/// greenlet running now, and the mailbox a switch leaves for the greenlet it
/// resumes.
struct ThreadState {
    ThreadState();
    ~ThreadState();
    ThreadState(const ThreadState&) = delete;
    ThreadState& operator=(const ThreadState&) = delete;

    /// The calling thread's state, created on first use.
    static ThreadState& get();

    // First member, so that the thread's stack pool is created before this
    // state and destroyed after it: greenlets unwound at thread exit (the
    // hub's, say) still have a pool to give their stacks back to.
    StackPool& stacks = StackPool::local();
    Greenlet root;
    Greenlet* current = &root;

    // The mailbox: what the switcher hands to the greenlet it resumes.
    std::any value;
    std::exception_ptr error;
    // Who switched last (so the resumed side can learn its stack bounds for
    // ASan), and a greenlet that has just finished and whose stack the
    // resumed side must give back to the pool.
    Greenlet* previous = nullptr;
    Greenlet* finished = nullptr;

    // The C++ runtime's exception state of this thread (abi::__cxa_get_globals()),
    // looked up once: every switch saves and restores it.
    void* exception_globals = nullptr;

    // The alternate signal stack this state installed, if any.
    void* signal_stack = nullptr;
    std::size_t signal_stack_size = 0;
};

/// The calling thread's state, or null if it never used a greenlet. A plain
/// pointer, so that the SIGSEGV handler can read it.
extern constinit thread_local ThreadState* this_thread;

/// What the overflow handler needs from a greenlet.
struct GreenletInternals {
    static const Stack& stack(const Greenlet& g) noexcept { return g.stack_; }
    /// Null for a greenlet never named.
    static const std::string* given_name(const Greenlet& g) noexcept { return g.name_.get(); }
    /// True if `g` belongs to the calling thread.
    static bool on_this_thread(const Greenlet& g) noexcept { return g.thread_ == this_thread; }
    /// True if `g`, suspended, switched away while an exception was
    /// unwinding its stack (it parked in a destructor): one more thrown into
    /// it there would end the process (std::terminate).
    static bool suspended_unwinding(const Greenlet& g) noexcept { return g.uncaught_exceptions_ > 0; }
};

/// Installs, once per process, the SIGSEGV handler that names a greenlet
/// whose stack overflowed, and gives the calling thread an alternate signal
/// stack to run it on (an overflowed stack has no room left for a handler).
void install_overflow_handler(ThreadState& thread);
/// Removes the alternate signal stack install_overflow_handler() gave this thread.
void remove_signal_stack(ThreadState& thread) noexcept;

} // namespace eventlet::detail
