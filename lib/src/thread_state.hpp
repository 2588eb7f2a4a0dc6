// Private: what the library's own files need beyond the switch path
// (eventlet/detail/switch_path.hpp, where the thread's state is). Not installed.
#pragma once

#include "eventlet/detail/switch_path.hpp"

namespace eventlet::detail {

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
    /// How many exceptions were thrown into `g` so far (modulo 2^16): a
    /// change across a call means `g` was interrupted during it.
    static std::uint16_t interruptions(const Greenlet& g) noexcept { return g.interruptions_; }
};

/// Installs, once per process, the SIGSEGV handler that names a greenlet
/// whose stack overflowed, and gives the calling thread an alternate signal
/// stack to run it on (an overflowed stack has no room left for a handler).
void install_overflow_handler(ThreadState& thread);
/// Removes the alternate signal stack install_overflow_handler() gave this thread.
void remove_signal_stack(ThreadState& thread) noexcept;

} // namespace eventlet::detail
