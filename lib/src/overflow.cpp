// The SIGSEGV handler that turns a hit on a greenlet's guard page into a
// message naming the greenlet.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "decimal.hpp"
#include "thread_state.hpp"

namespace eventlet::detail {
namespace {

struct sigaction previous_action;

void write_text(const char* text, std::size_t length) noexcept
{
    while (length > 0) {
        const ssize_t written = ::write(STDERR_FILENO, text, length);
        if (written <= 0)
            return;
        text += written;
        length -= static_cast<std::size_t>(written);
    }
}

void write_text(const char* text) noexcept { write_text(text, std::strlen(text)); }

void write_number(std::uint64_t number) noexcept
{
    DecimalDigits digits;
    const std::string_view text = decimal(number, digits);
    write_text(text.data(), text.size());
}

// Only async-signal-safe calls from here on: write(2), sigaction(2).
void on_segv(int signal, siginfo_t* info, void* context)
{
    ThreadState* thread = this_thread;
    if (thread != nullptr && thread->current != nullptr) {
        const Greenlet& greenlet = *thread->current;
        const Stack& stack = GreenletInternals::stack(greenlet);
        if (stack.guard_contains(info->si_addr)) {
            write_text("eventlet: stack overflow in greenlet '");
            const std::string* name = GreenletInternals::given_name(greenlet);
            if (name == nullptr || name->empty()) {
                write_text("greenlet-");
                write_number(greenlet.id());
            } else {
                write_text(name->data(), name->size());
            }
            write_text("' (its stack has ");
            write_number(stack.size() / 1024);
            write_text(" KiB; ask for more with GreenletOptions::stack_size)\n");
            // Fall through to the default action: returning re-executes the
            // faulting access, which now kills the process with SIGSEGV.
            struct sigaction default_action {};
            default_action.sa_handler = SIG_DFL;
            ::sigaction(SIGSEGV, &default_action, nullptr);
            return;
        }
    }
    // Not ours: behave as if we had never been installed.
    if ((previous_action.sa_flags & SA_SIGINFO) != 0 && previous_action.sa_sigaction != nullptr) {
        previous_action.sa_sigaction(signal, info, context);
    } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
        previous_action.sa_handler(signal);
    } else {
        ::sigaction(SIGSEGV, &previous_action, nullptr);
    }
}

} // namespace

void install_overflow_handler(ThreadState& thread)
{
    static std::once_flag installed;
    std::call_once(installed, [] {
        struct sigaction action {};
        action.sa_sigaction = &on_segv;
        action.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&action.sa_mask);
        ::sigaction(SIGSEGV, &action, &previous_action);
    });

    // A thread that already has an alternate stack (a sanitizer's, say)
    // keeps it; ours is only for threads that have none.
    stack_t current{};
    if (::sigaltstack(nullptr, &current) != 0 || (current.ss_flags & SS_DISABLE) == 0)
        return;
    const std::size_t size = std::max<std::size_t>(64 * 1024, static_cast<std::size_t>(SIGSTKSZ));
    void* memory = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        return; // overflows will then die without the message, nothing worse
    stack_t alternate{};
    alternate.ss_sp = memory;
    alternate.ss_size = size;
    if (::sigaltstack(&alternate, nullptr) != 0) {
        ::munmap(memory, size);
        return;
    }
    thread.signal_stack = memory;
    thread.signal_stack_size = size;
}

void remove_signal_stack(ThreadState& thread) noexcept
{
    if (thread.signal_stack == nullptr)
        return;
    stack_t disable{};
    disable.ss_flags = SS_DISABLE;
    ::sigaltstack(&disable, nullptr);
    ::munmap(thread.signal_stack, thread.signal_stack_size);
    thread.signal_stack = nullptr;
}

} // namespace eventlet::detail
