/// \file
/// The machine-level half of a greenlet switch: saving the registers of one
/// flow of control and resuming another.
#pragma once

#include <cstddef>

// The register switch exists for x86-64 only. Defining
// EVENTLET_UCONTEXT_SWITCH selects the ucontext fallback there too, to
// measure what the register switch saves (make bench SWITCH=ucontext). It
// changes the layout of MachineContext: the library and every file that
// includes eventlet/greenlet.hpp must be compiled with the same choice.
#if defined(__x86_64__) && !defined(EVENTLET_UCONTEXT_SWITCH)
#define EVENTLET_DETAIL_REGISTER_SWITCH 1
#else
#include <ucontext.h>
#endif

namespace eventlet::detail {

/// Where a suspended flow of control resumes: its registers, kept on its own
/// stack, and the stack pointer that finds them.
///
/// On x86-64 a switch is a dozen instructions (src/context.cpp): it saves
/// the registers the calling convention says a function must preserve and
/// moves the stack pointer. swapcontext() does that too, plus a system call
/// to save and restore the signal mask, which costs more than everything
/// else a switch does. Elsewhere (or with EVENTLET_UCONTEXT_SWITCH
/// defined) the context falls back to ucontext.
class MachineContext {
public:
    /// The function a prepared context starts in. It must never return:
    /// there is nothing above it on its stack to return to.
    using EntryFunction = void (*)() noexcept;

    /// Makes this context start `entry` on the stack [bottom, bottom + size)
    /// at the first switch to it.
    /// \throws std::system_error if the platform refuses (ucontext fallback only).
    void prepare(void* bottom, std::size_t size, EntryFunction entry);

    /// Saves the running flow of control in `from` and resumes `to`;
    /// returns when something switches back to `from`.
    static void swap(MachineContext& from, MachineContext& to) noexcept;

private:
#if defined(EVENTLET_DETAIL_REGISTER_SWITCH)
    void* stack_pointer_ = nullptr;
#else
    ucontext_t context_{};
#endif
};

} // namespace eventlet::detail
