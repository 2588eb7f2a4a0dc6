#include "eventlet/greenlet.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <cxxabi.h>

#include "thread_state.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

namespace eventlet {
namespace detail {

constinit thread_local ThreadState* this_thread = nullptr;

ThreadState::ThreadState()
    : root(Greenlet::RootTag{}, *this), exception_globals(abi::__cxa_get_globals())
{
    install_overflow_handler(*this);
}

ThreadState::~ThreadState()
{
    remove_signal_stack(*this);
    this_thread = nullptr;
}

ThreadState& ThreadState::get()
{
    if (this_thread == nullptr) {
        thread_local ThreadState state;
        this_thread = &state;
    }
    return *this_thread;
}

} // namespace detail

namespace {

std::atomic<std::uint64_t> next_greenlet_id{1};

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

ExceptionGlobals& exception_globals(detail::ThreadState& thread) noexcept
{
    return *static_cast<ExceptionGlobals*>(thread.exception_globals);
}

[[noreturn]] void fatal(const Greenlet& greenlet, const char* problem) noexcept
{
    const std::string name = greenlet.name();
    std::fprintf(stderr, "eventlet: greenlet '%s' %s\n", name.c_str(), problem);
    std::abort();
}

} // namespace

Greenlet::Greenlet(RootTag, detail::ThreadState& thread)
    : name_("root"), id_(0), thread_(&thread), state_(State::started)
{
}

Greenlet::Greenlet(Body body, GreenletOptions options)
    : body_(std::move(body)),
      name_(std::move(options.name)),
      id_(next_greenlet_id.fetch_add(1, std::memory_order_relaxed)),
      thread_(&detail::ThreadState::get()),
      stack_size_(options.stack_size)
{
    if (!body_)
        throw std::invalid_argument("a greenlet needs a body to run");
    if (stack_size_ < StackPool::min_stack_size)
        throw std::invalid_argument("greenlet stack of " + std::to_string(stack_size_) +
                                    " bytes is too small; the minimum is " +
                                    std::to_string(StackPool::min_stack_size));
    Greenlet* parent = options.parent != nullptr ? options.parent : thread_->current;
    if (parent->thread_ != thread_)
        throw std::logic_error("a greenlet's parent must belong to the same thread");
    link_to_parent(parent);
}

Greenlet::~Greenlet()
{
    // Hand the children to our parent first, so that none is left pointing
    // here, and so that they go to the parent we had rather than to the
    // destroyer that unwinding makes our parent for a moment.
    adopt_children_into(parent_);
    if (state_ == State::started && this != &thread_->root)
        unwind_before_destruction();
    // Greenlets created while we unwound have us as parent too.
    adopt_children_into(parent_);
    unlink_from_parent();
}

void Greenlet::adopt_children_into(Greenlet* heir) noexcept
{
    while (first_child_ != nullptr) {
        Greenlet* child = first_child_;
        child->unlink_from_parent();
        child->link_to_parent(heir);
    }
}

void Greenlet::unwind_before_destruction() noexcept
{
    if (detail::this_thread != thread_)
        fatal(*this, "was destroyed by another thread than the one it runs on");
    if (thread_->current == this)
        fatal(*this, "was destroyed by itself; a running greenlet cannot be destroyed");
    // Come back here when it finishes, whoever its parent was.
    unlink_from_parent();
    link_to_parent(thread_->current);
    try {
        throw_in();
    } catch (...) {
        std::string what = "an unknown exception";
        try {
            throw;
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        std::fprintf(stderr, "eventlet: greenlet '%s' threw while being unwound: %s\n",
                     name().c_str(), what.c_str());
    }
    if (!dead())
        fatal(*this, "caught GreenletExit and switched away instead of finishing; "
                     "a greenlet that is being destroyed must unwind");
}

Greenlet& Greenlet::current() { return *detail::ThreadState::get().current; }

Greenlet& Greenlet::root() { return detail::ThreadState::get().root; }

std::string Greenlet::name() const
{
    return name_.empty() ? "greenlet-" + std::to_string(id_) : name_;
}

void Greenlet::check_thread() const
{
    if (detail::this_thread != thread_)
        throw std::logic_error("greenlet '" + name() + "' belongs to another thread");
}

void Greenlet::set_parent(Greenlet& parent)
{
    check_thread();
    if (parent.thread_ != thread_)
        throw std::logic_error("a greenlet's parent must belong to the same thread");
    for (const Greenlet* ancestor = &parent; ancestor != nullptr; ancestor = ancestor->parent_)
        if (ancestor == this)
            throw std::invalid_argument("making '" + parent.name() + "' the parent of '" + name() +
                                        "' would make a cycle");
    unlink_from_parent();
    link_to_parent(&parent);
}

void Greenlet::link_to_parent(Greenlet* parent) noexcept
{
    parent_ = parent;
    if (parent == nullptr)
        return;
    next_sibling_ = parent->first_child_;
    if (next_sibling_ != nullptr)
        next_sibling_->prev_sibling_ = this;
    parent->first_child_ = this;
}

void Greenlet::unlink_from_parent() noexcept
{
    if (parent_ == nullptr)
        return;
    if (prev_sibling_ != nullptr)
        prev_sibling_->next_sibling_ = next_sibling_;
    else
        parent_->first_child_ = next_sibling_;
    if (next_sibling_ != nullptr)
        next_sibling_->prev_sibling_ = prev_sibling_;
    parent_ = next_sibling_ = prev_sibling_ = nullptr;
}

std::any Greenlet::switch_to(std::any value)
{
    check_thread();
    if (dead())
        throw std::logic_error("cannot switch to greenlet '" + name() + "': it has finished");
    detail::ThreadState& thread = *thread_;
    if (thread.current == this)
        return value; // switching to yourself is a no-op, as in Python
    thread.value = std::move(value);
    thread.error = nullptr;
    return thread.current->transfer_to(*this);
}

std::any Greenlet::throw_in(std::exception_ptr error)
{
    check_thread();
    if (!error)
        throw std::invalid_argument("throw_in needs an exception");
    if (dead())
        throw std::logic_error("cannot throw into greenlet '" + name() + "': it has finished");
    detail::ThreadState& thread = *thread_;
    if (thread.current == this)
        std::rethrow_exception(error);
    thread.value.reset();
    thread.error = std::move(error);
    return thread.current->transfer_to(*this);
}

std::any Greenlet::throw_in() { return throw_in(std::make_exception_ptr(GreenletExit{})); }

// Runs on the current greenlet (`this`): suspends it, resumes `target`, and
// returns when something switches back here.
std::any Greenlet::transfer_to(Greenlet& target)
{
    if (!target.started()) {
        try {
            target.start();
        } catch (...) {
            thread_->value.reset();
            thread_->error = nullptr;
            throw;
        }
    }
    switch_context(*this, target, false);
    return receive(*thread_);
}

// The first thing a greenlet does whenever it is resumed: give back the
// stack of a greenlet that just finished (it could not free the memory it
// was running on), then open the mailbox.
std::any Greenlet::receive(detail::ThreadState& thread)
{
    if (thread.finished != nullptr) {
        thread.stacks.release(std::move(thread.finished->stack_));
        thread.finished = nullptr;
    }
    if (thread.error)
        std::rethrow_exception(std::exchange(thread.error, nullptr));
    std::any value = std::move(thread.value);
    thread.value.reset();
    return value;
}

void Greenlet::start()
{
    Stack stack = thread_->stacks.acquire(stack_size_);
    try {
        context_.prepare(stack.bottom(), stack.size(), &Greenlet::entry);
    } catch (...) {
        thread_->stacks.release(std::move(stack));
        throw;
    }
    stack_ = std::move(stack);
    state_ = State::started;
}

void Greenlet::switch_context(Greenlet& from, Greenlet& to, bool from_finished) noexcept
{
    detail::ThreadState& thread = *from.thread_;
    ExceptionGlobals& eh = exception_globals(thread);
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
    __sanitizer_start_switch_fiber(from_finished ? nullptr : &from.asan_fake_stack_, bottom, size);
#else
    (void)from_finished;
#endif
    detail::MachineContext::swap(from.context_, to.context_);
#if defined(__SANITIZE_ADDRESS__)
    // We are `from` again, resumed by `thread.previous`. ASan reports the
    // bounds of the stack we came from: that is how the root greenlet, which
    // runs on the thread's own stack, gets its bounds recorded.
    __sanitizer_finish_switch_fiber(from.asan_fake_stack_, &thread.previous->asan_stack_bottom_,
                                    &thread.previous->asan_stack_size_);
#endif
}

// The function a new greenlet starts in (MachineContext::prepare). It must never return
// (there is nothing to return to) and nothing may be thrown out of it (the
// unwinder would run off the top of the stack and call std::terminate).
void Greenlet::entry() noexcept
{
    detail::ThreadState& thread = *detail::this_thread;
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_finish_switch_fiber(nullptr, &thread.previous->asan_stack_bottom_,
                                    &thread.previous->asan_stack_size_);
#endif
    Greenlet& self = *thread.current;
    self.run_body(thread);
    self.finish(thread);
}

// Runs the body with every exception caught, and leaves the outcome in the
// mailbox for the parent. Kept apart from finish() so that all of its
// locals are destroyed before the final switch: that frame never unwinds.
void Greenlet::run_body(detail::ThreadState& thread) noexcept
{
    std::any result;
    std::exception_ptr failure;
    try {
        result = body_(receive(thread));
    } catch (const GreenletExit&) {
        // Finishing on request is a normal end: the parent gets no value.
    } catch (...) {
        failure = std::current_exception();
    }
    // Free what the body captured while its owner is still running code
    // that can fail safely, rather than whenever the Greenlet is destroyed.
    body_ = nullptr;
    thread.value = std::move(result);
    thread.error = std::move(failure);
}

void Greenlet::finish(detail::ThreadState& thread) noexcept
{
    state_ = State::dead;
    Greenlet* target = parent_;
    while (target != nullptr && target->dead())
        target = target->parent_;
    if (target == nullptr)
        fatal(*this, "finished and has no live parent to return to");
    if (!target->started()) {
        try {
            target->start();
        } catch (...) {
            fatal(*this, "finished, and its parent could not be started");
        }
    }
    // We are still running on our own stack, so we cannot free it: the
    // greenlet we switch to does, in receive().
    thread.finished = this;
    switch_context(*this, *target, true);
    fatal(*this, "was resumed after it finished");
}

} // namespace eventlet
