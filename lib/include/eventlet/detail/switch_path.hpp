// Not part of the API: the path of every switch between greenlets, from the
// checks of Greenlet::switch_to() down to the register switch, and the
// per-thread state it works on. Inline, and in a header that greenlet.hpp
// includes, so that the code that decides to switch (a program's call of
// Greenlet::switch_to(), the hub's loop, a green thread that parks) calls the
// register switch from its own frame: src/context.cpp says why that depth
// costs time on every switch.
#pragma once

#include <any>
#include <exception>
#include <memory>
#include <utility>

#include "eventlet/greenlet.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

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
    // What owns that finished greenlet, if its body handed it over: a green
    // thread's record, which holds the greenlet and cannot be freed on its
    // stack. Dropped with the stack, where a std::any result carrying it
    // would cost an allocation per green thread.
    std::shared_ptr<void> finished_owner;

    // The C++ runtime's exception state of this thread (abi::__cxa_get_globals()),
    // looked up once: every switch saves and restores it.
    void* exception_globals = nullptr;

    // True where the library was built with ASan or TSan: every switch must
    // then tell the sanitizer, and a program's own code, built without it,
    // cannot. Its switches then go through the library (see
    // Greenlet::switch_to() below).
    bool annotated_switches = false;

    // The alternate signal stack this state installed, if any.
    void* signal_stack = nullptr;
    std::size_t signal_stack_size = 0;
};

/// The calling thread's state, or null if it never used a greenlet. A plain
/// pointer, so that the SIGSEGV handler can read it.
extern constinit thread_local ThreadState* this_thread;

// libstdc++ keeps, per OS thread, the chain of exceptions currently caught
// and the number of exceptions in flight (`__cxa_eh_globals`). cxxabi.h
// declares the struct but not its fields; this mirrors the Itanium C++ ABI
// layout. A greenlet that switches away inside a catch block must get its
// own chain back, or `throw;` would rethrow someone else's exception.
struct ExceptionGlobals {
    void* caught_exceptions;
    unsigned int uncaught_exceptions;
#if defined(__ARM_EABI_UNWINDER__)
    void* propagating_exceptions;
#endif
};

/// The switch, for greenlet.cpp and the hub's files (a friend of Greenlet).
struct SwitchPath {
    /// Greenlet::switch_to(): the running greenlet passes `value` to
    /// `target` and resumes it; returns what is passed back to it.
    [[gnu::always_inline]] static std::any switch_to(Greenlet& target, std::any&& value)
    {
        if (this_thread != target.thread_) [[unlikely]]
            target.throw_wrong_thread();
        if (target.dead()) [[unlikely]]
            throw_finished(target, "switch to");
        ThreadState& thread = *target.thread_;
        if (thread.current == &target)
            return std::move(value); // switching to yourself is a no-op, as in Python
        if (value.has_value() || thread.value.has_value()) // both empty, most often
            thread.value = std::move(value);
        if (thread.error) // assigning to a null exception_ptr still calls into the runtime
            thread.error = nullptr;
        return transfer(*thread.current, target);
    }

    /// Runs on `from`, the running greenlet: suspends it, resumes `target`
    /// (starting it first if it never ran), and returns what the greenlet
    /// that switches back to `from` left in the thread's mailbox.
    [[gnu::always_inline]] static std::any transfer(Greenlet& from, Greenlet& target)
    {
        if (!target.started()) [[unlikely]]
            start_for_switch(target);
        swap(from, target, false);
        return receive(*from.thread_);
    }

    /// The switch itself: the exception state, the sanitizers' views of
    /// the stacks, then the registers. `from_finished`: `from` will never
    /// run again (its last switch).
    [[gnu::always_inline]] static void swap(Greenlet& from, Greenlet& to,
                                            bool from_finished) noexcept
    {
        ThreadState& thread = *from.thread_;
        auto& eh = *static_cast<ExceptionGlobals*>(thread.exception_globals);
        from.caught_exceptions_ = eh.caught_exceptions;
        from.uncaught_exceptions_ = eh.uncaught_exceptions;
        eh.caught_exceptions = to.caught_exceptions_;
        eh.uncaught_exceptions = to.uncaught_exceptions_;
        thread.previous = &from;
        thread.current = &to;
#if defined(__SANITIZE_ADDRESS__)
        // Tell ASan which stack we are about to run on; a finished greenlet
        // passes null so that ASan frees its fake stack instead of keeping it.
        const void* bottom = to.stack_ ? to.stack_.bottom() : to.asan_stack_bottom_;
        const std::size_t size = to.stack_ ? to.stack_.size() : to.asan_stack_size_;
        __sanitizer_start_switch_fiber(from_finished ? nullptr : &from.asan_fake_stack_, bottom,
                                       size);
#else
        (void)from_finished;
#endif
#if defined(__SANITIZE_THREAD__)
        // Flags 0: the switch orders everything `from` did before everything
        // `to` does next, as running on one OS thread does. Greenlets of other
        // threads share no such order, so a race between threads still shows.
        __tsan_switch_to_fiber(to.tsan_fiber_, 0);
#endif
        MachineContext::swap(from.context_, to.context_);
#if defined(__SANITIZE_ADDRESS__)
        // We are `from` again, resumed by `thread.previous`. ASan reports the
        // bounds of the stack we came from: that is how the root greenlet, which
        // runs on the thread's own stack, gets its bounds recorded.
        __sanitizer_finish_switch_fiber(from.asan_fake_stack_, &thread.previous->asan_stack_bottom_,
                                        &thread.previous->asan_stack_size_);
#endif
    }

    /// The first thing a greenlet does whenever it is resumed: give back
    /// the stack of a greenlet that just finished (it could not free the
    /// memory it was running on), then open the mailbox.
    [[gnu::always_inline]] static std::any receive(ThreadState& thread)
    {
        if (thread.finished != nullptr) [[unlikely]]
            release_finished(thread);
        if (thread.error) [[unlikely]]
            std::rethrow_exception(std::exchange(thread.error, nullptr));
        // Most switches carry nothing: no call into std::any for them.
        if (!thread.value.has_value()) [[likely]]
            return {};
        return std::exchange(thread.value, std::any());
    }

    // The rare branches, out of line (greenlet.cpp) to keep the inline path short.
    [[noreturn, gnu::cold]] static void throw_finished(const Greenlet& target, const char* verb);
    [[gnu::cold]] static void start_for_switch(Greenlet& target);
    static void release_finished(ThreadState& thread) noexcept;
};

} // namespace eventlet::detail

namespace eventlet {

inline std::any Greenlet::switch_to(std::any value)
{
    // A sanitizer must see every switch the same way: annotated in all or in
    // none. So whenever the program and the library were not both built
    // without one, the switch is the library's, annotated as its own are.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return switch_through_library(std::move(value));
#else
    if (detail::this_thread == thread_ && thread_->annotated_switches) [[unlikely]]
        return switch_through_library(std::move(value));
    return detail::SwitchPath::switch_to(*this, std::move(value));
#endif
}

} // namespace eventlet
