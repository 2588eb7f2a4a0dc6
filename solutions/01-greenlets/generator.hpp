/// \file
/// A generator built on greenlets: a function that yields values, one at a
/// time, into a range-for loop (the reference solution of exercise 1).
///
///     eventlet::Generator<int> squares([](eventlet::Yield<int>& yield) {
///         for (int i = 1; i <= 3; ++i)
///             yield(i * i);
///     });
///     for (int n : squares)
///         std::cout << n << '\n'; // 1 4 9
///
/// The body runs in a greenlet of its own. `yield(v)` parks `v` where the
/// loop can read it and switches to the loop; the loop's `++it` switches back
/// into the body, which carries on after its `yield`. Nothing is computed
/// ahead of the loop: the body runs only as far as the loop has read.
#pragma once

#include <eventlet/greenlet.hpp>

#include <concepts>
#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace eventlet {

template <class T>
class Generator;

namespace detail {
template <class T>
class GeneratorState;
} // namespace detail

/// What a generator's body yields through. The body receives one by
/// reference; it cannot be created, copied or kept by anyone else.
template <class T>
class Yield {
public:
    Yield(const Yield&) = delete;
    Yield& operator=(const Yield&) = delete;

    /// Hands `value` to the loop that iterates the generator and suspends
    /// the body until the loop asks for the next value.
    ///
    /// Switches to the greenlet that iterates the generator; returns when
    /// that greenlet advances its iterator.
    /// \throws GreenletExit when the generator is destroyed while the body is
    ///         suspended here: let it propagate, it is what unwinds the body.
    /// \throws std::logic_error if called from outside the generator's body
    ///         (from another greenlet the body started, say).
    void operator()(T value);

private:
    friend class detail::GeneratorState<T>;
    explicit Yield(detail::GeneratorState<T>& state) noexcept : state_(state) {}

    detail::GeneratorState<T>& state_;
};

namespace detail {

/// Everything a generator shares between its body and its consumer. It lives
/// on the heap and never moves, so the body's greenlet, iterators and the
/// Yield can all point at it while the Generator object itself is moved.
template <class T>
class GeneratorState {
public:
    // The greenlet is created here but does not run: its stack is mapped and
    // its body entered only at the first resume().
    template <class F>
    explicit GeneratorState(F&& body)
        : greenlet_(
              [this, body = std::forward<F>(body)]() mutable {
                  Yield<T> yield(*this);
                  body(yield);
                  // Returning finishes the greenlet: control goes to its
                  // parent, which resume() made the consumer.
              },
              GreenletOptions{.name = "generator"})
    {
    }

    GeneratorState(const GeneratorState&) = delete;
    GeneratorState& operator=(const GeneratorState&) = delete;

    /// Unwinds a body that is suspended at a `yield`: the destructor of
    /// `greenlet_`, which runs next, throws GreenletExit into it. Every other
    /// member is still alive then, and `greenlet_` is still its own address,
    /// so a `yield` reached while unwinding is recognised and refused.
    ~GeneratorState() { closing_ = true; }

    /// Runs the body until its next `yield` or its end.
    /// \returns true if the body yielded a value, false if it has finished.
    /// \throws whatever the body throws (the body is then finished).
    bool resume()
    {
        check_not_running();
        if (greenlet_.dead())
            return false;
        Greenlet& me = Greenlet::current();
        // The body ends by returning or throwing to its greenlet's parent.
        // Whoever advances the generator now must get that end, not whoever
        // created it: a generator may be handed to another greenlet.
        greenlet_.set_parent(me);
        value_.reset(); // the previous value dies before the next is made
        consumer_ = &me;
        struct ClearConsumer {
            Greenlet*& consumer;
            ~ClearConsumer() { consumer = nullptr; }
        } clear{consumer_};
        greenlet_.switch_to(); // returns at the next yield, or when the body ends
        return value_.has_value();
    }

    /// Throws if the body is running now: a generator cannot be iterated
    /// from inside its own body.
    void check_not_running() const
    {
        if (consumer_ != nullptr)
            throw std::logic_error("a generator cannot be iterated from inside its own body");
    }

    /// True once the body has run (or been asked to run) at least once.
    bool started() const noexcept { return greenlet_.started(); }
    /// True while a yielded value is waiting to be read.
    bool has_value() const noexcept { return value_.has_value(); }
    /// The value yielded last.
    T& value() noexcept { return *value_; }

private:
    friend class Yield<T>;

    std::optional<T> value_;            // yielded, not yet replaced
    Greenlet* consumer_ = nullptr;      // who is waiting in resume(), if anyone
    bool closing_ = false;              // set while the body is being unwound
    Greenlet greenlet_;                 // last: destroyed first, while the rest is alive
};

} // namespace detail

template <class T>
void Yield<T>::operator()(T value)
{
    if (&Greenlet::current() != &state_.greenlet_)
        throw std::logic_error("yield called outside its generator's body");
    // A body that caught GreenletExit and tried to carry on: keep unwinding
    // it. (Switching to the destroyer instead would abort the process.)
    if (state_.closing_)
        throw GreenletExit{};
    if (state_.consumer_ == nullptr)
        throw std::logic_error("yield called while nobody is iterating the generator");
    // The value waits in the shared state rather than travelling through
    // switch_to()'s std::any, which would demand a copyable T.
    state_.value_.emplace(std::move(value));
    state_.consumer_->switch_to();
}

/// A lazy sequence of `T` computed by a function that yields them one by one.
///
/// The function runs in a greenlet with a stack of its own (256 KiB by
/// default), entered at the first `begin()` and switched into again at each
/// `++` of an iterator. It yields through the `Yield<T>&` it receives.
/// An exception escaping the function is rethrown by the `begin()` or `++`
/// that was running it. Destroying a generator whose function is suspended
/// at a `yield` unwinds the function (its destructors run) by throwing
/// GreenletExit at that `yield`.
///
/// A generator is an input range: iterate it once. Like a greenlet, it
/// belongs to the OS thread that created it. Generators are move-only.
template <class T>
class Generator {
    static_assert(std::is_object_v<T> && !std::is_const_v<T>,
                  "a generator yields values (not references, not const)");

public:
    /// The sentinel that ends the range.
    using sentinel = std::default_sentinel_t;

    /// Reads the values of a generator; advancing it runs the body until its
    /// next `yield`.
    class iterator {
    public:
        using value_type = T;                    ///< what the body yields
        using difference_type = std::ptrdiff_t;  ///< required by std::input_iterator
        using iterator_concept = std::input_iterator_tag; ///< single pass

        /// An iterator that is already at the end.
        iterator() = default;

        /// The value yielded last. May be moved from.
        T& operator*() const noexcept { return state_->value(); }
        /// The address of the value yielded last.
        T* operator->() const noexcept { return &state_->value(); }

        /// Runs the body until it yields the next value or finishes.
        /// Switches into the generator's greenlet; returns when the body
        /// yields or ends.
        /// \throws whatever escapes the body.
        iterator& operator++()
        {
            state_->resume();
            return *this;
        }
        /// Same as the prefix form (an input iterator has no old value to return).
        void operator++(int) { ++*this; }

        /// True when the body has finished (or the iterator never had a generator).
        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept
        {
            return it.state_ == nullptr || !it.state_->has_value();
        }

    private:
        friend class Generator;
        explicit iterator(detail::GeneratorState<T>* state) noexcept : state_(state) {}

        detail::GeneratorState<T>* state_ = nullptr;
    };

    /// Makes a generator of the values `body` yields. `body` is called with a
    /// `Yield<T>&` and must be copyable (it is stored in a std::function).
    /// Nothing runs, and no stack is mapped, until `begin()`.
    template <class F>
        requires(!std::is_same_v<std::remove_cvref_t<F>, Generator> &&
                 std::invocable<std::decay_t<F>&, Yield<T>&>)
    explicit Generator(F&& body)
        : state_(std::make_unique<detail::GeneratorState<T>>(std::forward<F>(body)))
    {
    }

    /// Takes over `other`'s body; `other` becomes empty.
    Generator(Generator&& other) noexcept = default;
    /// Unwinds this generator's body if it is suspended, then takes over `other`'s.
    Generator& operator=(Generator&& other) noexcept = default;
    /// Unwinds the body if it is suspended at a `yield`.
    ~Generator() = default;

    /// On the first call, runs the body until its first `yield` (or its end);
    /// later calls return an iterator at the value read last.
    /// \throws whatever escapes the body before its first `yield`.
    iterator begin()
    {
        if (!state_)
            return iterator{};
        if (!state_->started())
            state_->resume();
        else
            state_->check_not_running();
        return iterator{state_.get()};
    }

    /// The end of the values.
    sentinel end() const noexcept { return std::default_sentinel; }

private:
    std::unique_ptr<detail::GeneratorState<T>> state_;
};

} // namespace eventlet
