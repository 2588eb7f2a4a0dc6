// The switch between two flows of control (see detail/context.hpp).
#include "eventlet/detail/context.hpp"

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace eventlet::detail {

#if defined(EVENTLET_DETAIL_REGISTER_SWITCH)

// eventlet_swap_stack(void** save_to, void* resume_from), System V ABI:
// pushes the callee-saved registers and the floating-point control words on
// the current stack, stores the stack pointer in *save_to, loads
// resume_from, pops the same frame and returns into the other flow of
// control. Caller-saved registers need no saving: the compiler has already
// assumed that the call clobbers them. A return into a stack that no call
// made is what hardware shadow stacks (Intel CET) forbid; Debian 12 does not
// enable them for user programs.
//
// eventlet_context_start: where a prepared stack "returns" to on its first
// switch. The entry function comes in r12 (popped from the frame that
// prepare() wrote); the stack is aligned and the entry called, with a zero
// return address in the frame below so that debuggers stop unwinding there.
asm(R"(
    .text
    .p2align 4
    .type eventlet_swap_stack, @function
eventlet_swap_stack:
    pushq %rbp
    pushq %rbx
    pushq %r15
    pushq %r14
    pushq %r13
    pushq %r12
    subq $16, %rsp
    stmxcsr 8(%rsp)
    fnstcw 12(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr 8(%rsp)
    fldcw 12(%rsp)
    addq $16, %rsp
    popq %r12
    popq %r13
    popq %r14
    popq %r15
    popq %rbx
    popq %rbp
    ret
    .size eventlet_swap_stack, .-eventlet_swap_stack

    .p2align 4
    .type eventlet_context_start, @function
eventlet_context_start:
    .cfi_startproc
    .cfi_undefined rip
    xorl %ebp, %ebp
    andq $-16, %rsp
    pushq $0
    pushq $0
    callq *%r12
    ud2
    .cfi_endproc
    .size eventlet_context_start, .-eventlet_context_start
)");

extern "C" void eventlet_swap_stack(void** save_to, void* resume_from) noexcept;
extern "C" void eventlet_context_start() noexcept;

namespace {

// The frame eventlet_swap_stack pops, lowest address first.
struct InitialFrame {
    // popped into the floating-point control registers
    std::uint64_t unused;
    std::uint32_t mxcsr;
    std::uint16_t fpu_control;
    std::uint16_t unused_too;
    void* r12; // the entry function, for eventlet_context_start
    void* r13;
    void* r14;
    void* r15;
    void* rbx;
    void* rbp;
    void* return_address;
};
static_assert(sizeof(InitialFrame) == 16 + 6 * 8 + 8, "the frame eventlet_swap_stack pops");

} // namespace

void MachineContext::prepare(void* bottom, std::size_t size, EntryFunction entry)
{
    auto top = reinterpret_cast<std::uintptr_t>(bottom) + size;
    top &= ~std::uintptr_t{15};
    auto* frame = reinterpret_cast<InitialFrame*>(top - sizeof(InitialFrame) - 8);
    *frame = InitialFrame{};
    // The new flow of control starts with the floating-point modes of the
    // one that prepares it, as a new thread inherits them.
    asm volatile("stmxcsr %0" : "=m"(frame->mxcsr));
    asm volatile("fnstcw %0" : "=m"(frame->fpu_control));
    frame->r12 = reinterpret_cast<void*>(entry);
    frame->return_address = reinterpret_cast<void*>(&eventlet_context_start);
    stack_pointer_ = frame;
}

void MachineContext::swap(MachineContext& from, MachineContext& to) noexcept
{
    eventlet_swap_stack(&from.stack_pointer_, to.stack_pointer_);
}

#else // the portable fallback: one signal-mask system call per switch

void MachineContext::prepare(void* bottom, std::size_t size, EntryFunction entry)
{
    if (::getcontext(&context_) != 0)
        throw std::system_error(errno, std::generic_category(), "getcontext");
    context_.uc_stack.ss_sp = bottom;
    context_.uc_stack.ss_size = size;
    context_.uc_link = nullptr; // entry never returns: it switches away
    ::makecontext(&context_, entry, 0);
}

void MachineContext::swap(MachineContext& from, MachineContext& to) noexcept
{
    ::swapcontext(&from.context_, &to.context_);
}

#endif

} // namespace eventlet::detail
