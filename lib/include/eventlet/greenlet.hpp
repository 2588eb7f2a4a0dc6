/// \file
/// Greenlets: stackful coroutines that switch explicitly, as in Python's greenlet.
#pragma once

#include <any>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "eventlet/detail/context.hpp"
#include "eventlet/stack.hpp"

namespace eventlet {

namespace detail {
struct ThreadState;
struct GreenletInternals;
struct SwitchPath;
} // namespace detail

/// Thrown into a greenlet to make it unwind and finish (by `Greenlet::throw_in()`,
/// and by the destructor of a suspended greenlet).
///
/// It deliberately does not derive from `std::exception`: a `catch (const
/// std::exception&)` in user code must not swallow a request to finish. A
/// greenlet that ends with GreenletExit counts as finished normally.
class GreenletExit {
public:
    /// A fixed description, for messages.
    const char* what() const noexcept { return "GreenletExit"; }
};

class Greenlet;

/// How to create a greenlet; every field has a sensible default, so
/// `Greenlet g(body, {.name = "worker"})` reads well.
struct GreenletOptions {
    /// Shown in error messages; empty means "greenlet-<id>".
    std::string name{};
    /// Receives control (and the result) when the greenlet finishes;
    /// `nullptr` means the greenlet that is current when this one is created.
    Greenlet* parent = nullptr;
    /// Usable bytes of stack, at least StackPool::min_stack_size; stacks of
    /// the default size are pooled.
    std::size_t stack_size = StackPool::default_stack_size;
};

/// A function running on a stack of its own, entered and left only by
/// explicit switches. One OS thread runs one greenlet at a time.
///
/// A greenlet starts when it is first switched to: its body receives the
/// value of that switch. Later switches into it return, inside the greenlet,
/// the value passed by the switcher. When the body returns, its result goes
/// to the parent: the parent's pending `switch_to()` returns it. When the body
/// throws, the parent's pending `switch_to()` rethrows the exception.
///
/// Greenlets are neither copyable nor movable (others hold their address).
/// Destroying a suspended greenlet unwinds it first, so its destructors run.
class Greenlet {
public:
    /// What a greenlet runs: takes the value of the first switch, returns
    /// the value its parent receives.
    using Body = std::function<std::any(std::any)>;

    /// Creates a greenlet that will run `body`. `body` may take no argument
    /// or one `std::any`, and return anything (or nothing).
    /// Nothing runs and no stack is mapped until the first switch.
    template <class F>
        requires(!std::is_same_v<std::remove_cvref_t<F>, Greenlet> &&
                 !std::is_same_v<std::remove_cvref_t<F>, Body>)
    explicit Greenlet(F&& body, GreenletOptions options = {})
        : Greenlet(Body(adapt(std::forward<F>(body))), std::move(options))
    {
    }
    /// Creates a greenlet that will run `body` (see the template overload).
    Greenlet(Body body, GreenletOptions options = {});
    /// Unwinds a suspended greenlet (throws GreenletExit into it) before
    /// freeing it. Children of this greenlet are handed to its parent.
    ~Greenlet();
    Greenlet(const Greenlet&) = delete;
    Greenlet& operator=(const Greenlet&) = delete;

    /// The greenlet running now on the calling thread (its root greenlet
    /// when no other was switched to).
    static Greenlet& current();
    /// The calling thread's root greenlet: the one that runs on the thread's
    /// own stack.
    static Greenlet& root();

    /// Suspends the current greenlet and runs this one, passing `value`: as
    /// the body's argument if this greenlet has not started, else as the
    /// return value of the switch that suspended it.
    /// \returns the value passed by whoever switches back to the caller
    ///          (or the result of a child that finished).
    /// \throws whatever is thrown into the caller while it is suspended, or
    ///         escapes a child greenlet whose parent the caller is;
    ///         std::logic_error if this greenlet is dead or belongs to another
    ///         thread; StackAllocationError if its stack cannot be mapped.
    [[gnu::always_inline]] inline std::any switch_to(std::any value = {});

    /// Like switch_to(), but makes the suspended switch inside this greenlet
    /// throw `error` instead of returning. A greenlet that has not started
    /// finishes at once, without running its body. GreenletExit makes the
    /// greenlet finish normally, with an empty result.
    /// \throws as switch_to(); `std::invalid_argument` for a null `error`.
    std::any throw_in(std::exception_ptr error);
    /// Throws GreenletExit into this greenlet (see the other overload).
    std::any throw_in();

    /// True once the greenlet has been switched to for the first time.
    bool started() const noexcept { return state_ != State::not_started; }
    /// True once the body has returned or thrown.
    bool dead() const noexcept { return state_ == State::dead; }

    /// The greenlet that receives control when this one finishes.
    Greenlet* parent() const noexcept { return parent_; }
    /// Changes the parent.
    /// \throws std::invalid_argument if it would make a cycle;
    ///         std::logic_error for a greenlet of another thread.
    void set_parent(Greenlet& parent);

    /// A number unique among the greenlets of the process (the root of a thread is 0).
    std::uint64_t id() const noexcept { return id_; }
    /// The name given at creation or by set_name(), or "greenlet-<id>".
    std::string name() const;
    /// Renames the greenlet: the name that error messages and the blocking
    /// detector's reports show. A green thread may name itself, with what
    /// it works on: `Greenlet::current().set_name("fetch " + url)`.
    /// \throws std::logic_error for a greenlet of another thread.
    void set_name(std::string name);

    /// A token that lives exactly as long as this greenlet, for a callback
    /// that may outlive it (a Timeout's): it keeps the weak_ptr and checks
    /// it before it touches the greenlet. Never switches.
    std::weak_ptr<const void> lifetime()
    {
        if (!lifetime_)
            lifetime_ = std::make_shared<char>();
        return lifetime_;
    }

private:
    friend struct detail::ThreadState;
    friend struct detail::GreenletInternals;
    friend struct detail::SwitchPath;
    enum class State : unsigned char { not_started, started, dead };
    struct RootTag {};

    explicit Greenlet(RootTag, detail::ThreadState& thread);

    template <class F>
    static Body adapt(F&& f)
    {
        using Fn = std::decay_t<F>;
        if constexpr (std::is_invocable_v<Fn&, std::any>) {
            return [fn = Fn(std::forward<F>(f))](std::any input) mutable -> std::any {
                if constexpr (std::is_void_v<std::invoke_result_t<Fn&, std::any>>) {
                    fn(std::move(input));
                    return {};
                } else {
                    return std::any(fn(std::move(input)));
                }
            };
        } else {
            static_assert(std::is_invocable_v<Fn&>,
                          "a greenlet's body takes no argument or one std::any");
            return [fn = Fn(std::forward<F>(f))](std::any) mutable -> std::any {
                if constexpr (std::is_void_v<std::invoke_result_t<Fn&>>) {
                    fn();
                    return {};
                } else {
                    return std::any(fn());
                }
            };
        }
    }

    std::any switch_through_library(std::any value);
    void check_thread() const;
    [[noreturn]] void throw_wrong_thread() const;
    void start();
    static void entry() noexcept;
    void run_body(detail::ThreadState& thread) noexcept;
    [[noreturn]] void finish(detail::ThreadState& thread) noexcept;
    void unwind_before_destruction() noexcept;
    void link_to_parent(Greenlet* parent) noexcept;
    void unlink_from_parent() noexcept;
    void adopt_children_into(Greenlet* heir) noexcept;

    Body body_;
    // Null until a name is given: most green threads have none, and a
    // pointer costs each of them 24 bytes less than a string.
    std::unique_ptr<std::string> name_;
    std::uint64_t id_ = 0;
    detail::ThreadState* thread_;
    std::size_t stack_size_ = StackPool::default_stack_size;
    Stack stack_;
    detail::MachineContext context_;

    // The parent and the intrusive list of children: a destroyed greenlet
    // hands its children to its own parent, so no parent pointer dangles.
    Greenlet* parent_ = nullptr;
    Greenlet* first_child_ = nullptr;
    Greenlet* next_sibling_ = nullptr;
    Greenlet* prev_sibling_ = nullptr;

    // The C++ runtime's per-thread exception state (the chain of caught
    // exceptions, the count of uncaught ones), saved while suspended.
    void* caught_exceptions_ = nullptr;
    unsigned int uncaught_exceptions_ = 0;
    // Here, not beside the fields it belongs with: it fills what would be
    // padding after the count above (every green thread has a greenlet).
    State state_ = State::not_started;
    // How many exceptions were thrown into it (throw_in(): kills, Timeouts),
    // modulo 2^16; also in that padding. Code that runs someone else's
    // callbacks in this greenlet (a green thread's links) compares it before
    // and after, to tell an interruption of this greenlet, which must go on
    // to its caller, from a callback's own failure.
    std::uint16_t interruptions_ = 0;

    // AddressSanitizer's view of this greenlet's stack (fiber annotations).
    void* asan_fake_stack_ = nullptr;
    const void* asan_stack_bottom_ = nullptr;
    std::size_t asan_stack_size_ = 0;
#if defined(__SANITIZE_THREAD__)
    // ThreadSanitizer's view of it: its fiber, while it has a stack (the
    // thread's own for the root greenlet). Only in a TSan build, where every
    // file is compiled with -fsanitize=thread: elsewhere it would cost every
    // green thread 8 bytes.
    void* tsan_fiber_ = nullptr;
#endif

    // Made on first use; its weak_ptrs expire with the greenlet.
    std::shared_ptr<const void> lifetime_;
};

} // namespace eventlet

// Greenlet::switch_to(), inline: see the header's opening comment.
#include "eventlet/detail/switch_path.hpp"
