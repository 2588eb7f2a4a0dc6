#include "eventlet/greenlet.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <cxxabi.h>

#include "blocking_detector.hpp"
#include "eventlet/detail/switch_path.hpp"
#include "thread_state.hpp"

namespace eventlet {
namespace detail {

constinit thread_local ThreadState* this_thread = nullptr;

ThreadState::ThreadState()
    : root(Greenlet::RootTag{}, *this), exception_globals(abi::__cxa_get_globals())
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    annotated_switches = true;
#endif
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

[[noreturn]] void fatal(const Greenlet& greenlet, const char* problem) noexcept
{
    const std::string name = greenlet.name();
    std::fprintf(stderr, "eventlet: greenlet '%s' %s\n", name.c_str(), problem);
    std::abort();
}

} // namespace

Greenlet::Greenlet(RootTag, detail::ThreadState& thread)
    : name_(std::make_unique<std::string>("root")), id_(0), thread_(&thread),
      state_(State::started)
{
#if defined(__SANITIZE_THREAD__)
    // The root runs on the thread's own stack, as the thread's own fiber:
    // TSan made it with the thread and ends it with the thread.
    tsan_fiber_ = __tsan_get_current_fiber();
#endif
}

Greenlet::Greenlet(Body body, GreenletOptions options)
    : body_(std::move(body)),
      name_(options.name.empty() ? nullptr
                                 : std::make_unique<std::string>(std::move(options.name))),
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
    // Unlinking from the parent changes the parent's list of children,
    // which only the greenlets' own thread may touch. (Once that thread
    // has exited, the greenlet has no parent left: any thread may free it.)
    if (detail::this_thread != thread_ && parent_ != nullptr) [[unlikely]]
        fatal(*this, "was destroyed by another thread than the one it belongs to");
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
    return name_ && !name_->empty() ? *name_ : "greenlet-" + std::to_string(id_);
}

void Greenlet::set_name(std::string name)
{
    check_thread();
    auto given = std::make_unique<std::string>(std::move(name));
    // The blocking detector's probe reads the name in a signal handler on
    // this very thread: it must not land in the middle of the assignment.
    const detail::ProbeHold hold;
    name_.swap(given); // the old name is freed after the hold, outside it
}

// Out of line and cold, so that check_thread() is a compare small enough
// to be inlined into every switch.
[[gnu::noinline, gnu::cold]] void Greenlet::throw_wrong_thread() const
{
    throw std::logic_error("greenlet '" + name() + "' belongs to another thread");
}

void Greenlet::check_thread() const
{
    if (detail::this_thread != thread_) [[unlikely]]
        throw_wrong_thread();
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

std::any Greenlet::switch_through_library(std::any value)
{
    return detail::SwitchPath::switch_to(*this, std::move(value));
}

std::any Greenlet::throw_in(std::exception_ptr error)
{
    check_thread();
    if (!error)
        throw std::invalid_argument("throw_in needs an exception");
    if (dead())
        detail::SwitchPath::throw_finished(*this, "throw into");
    ++interruptions_;
    detail::ThreadState& thread = *thread_;
    if (thread.current == this)
        std::rethrow_exception(error);
    thread.value.reset();
    thread.error = std::move(error);
    return detail::SwitchPath::transfer(*thread.current, *this);
}

std::any Greenlet::throw_in() { return throw_in(std::make_exception_ptr(GreenletExit{})); }

namespace detail {

void SwitchPath::throw_finished(const Greenlet& target, const char* verb)
{
    throw std::logic_error(std::string("cannot ") + verb + " greenlet '" + target.name() +
                           "': it has finished");
}

// Starting maps a stack, which can fail: then the switch does not happen,
// and the value or exception meant for `target` must not wait in the
// mailbox for whoever is switched to next.
void SwitchPath::start_for_switch(Greenlet& target)
{
    try {
        target.start();
    } catch (...) {
        target.thread_->value.reset();
        target.thread_->error = nullptr;
        throw;
    }
}

void SwitchPath::release_finished(ThreadState& thread) noexcept
{
    thread.stacks.release(std::move(thread.finished->stack_));
#if defined(__SANITIZE_THREAD__)
    // Its fiber goes with its stack: TSan counts fibers as threads, and
    // dies past 8128 of them alive at once.
    __tsan_destroy_fiber(std::exchange(thread.finished->tsan_fiber_, nullptr));
#endif
    thread.finished = nullptr;
    // Last: its destructor may free the greenlet itself.
    thread.finished_owner.reset();
}

} // namespace detail

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
#if defined(__SANITIZE_THREAD__)
    // A stack of its own needs a fiber of its own: TSan keeps its shadow
    // call stack and its clock per fiber. Made only now, not with the
    // greenlet, so that one destroyed before it starts never had one: a
    // fiber costs TSan a thread's worth of state and milliseconds to make.
    tsan_fiber_ = __tsan_create_fiber(0);
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
        result = body_(detail::SwitchPath::receive(thread));
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
    detail::SwitchPath::swap(*this, *target, true);
    fatal(*this, "was resumed after it finished");
}

} // namespace eventlet
