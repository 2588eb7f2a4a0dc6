/// \file
/// Exercise 1: a generator built on greenlets. A function yields values, one
/// at a time, into a range-for loop:
///
///     eventlet::Generator<int> squares([](eventlet::Yield<int>& yield) {
///         for (int i = 1; i <= 3; ++i)
///             yield(i * i);
///     });
///     for (int n : squares)
///         std::cout << n << '\n'; // 1 4 9
///
/// This starter compiles, and its iterator and range plumbing are done, but
/// nothing ever runs the body: every generator looks empty. Fill in the three
/// places marked TODO(exercise) (README.md says what each must do), then run
/// `make test` in this folder.
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

/// What a generator's body yields through. The body receives one by reference.
template <class T>
class Yield {
public:
    Yield(const Yield&) = delete;
    Yield& operator=(const Yield&) = delete;

    /// Hands `value` to the loop that iterates the generator and suspends
    /// the body until the loop asks for the next value.
    void operator()(T value);

private:
    friend class detail::GeneratorState<T>;
    explicit Yield(detail::GeneratorState<T>& state) noexcept : state_(state) {}

    detail::GeneratorState<T>& state_;
};

namespace detail {

/// What the body and the loop share. It lives on the heap and never moves,
/// so the body's greenlet, the iterators and the Yield can point at it.
template <class T>
class GeneratorState {
public:
    template <class F>
    explicit GeneratorState(F&& body)
        : greenlet_([this, body = std::forward<F>(body)]() mutable {
              // TODO(exercise): what the generator's greenlet runs: the
              // generator's body, able to yield into this state.
              (void)body;
          })
    {
    }

    GeneratorState(const GeneratorState&) = delete;
    GeneratorState& operator=(const GeneratorState&) = delete;

    /// Runs the body until its next `yield` or its end.
    /// \returns true if the body yielded a value, false if it has finished.
    bool resume()
    {
        // TODO(exercise): run the body until it yields or ends. Whoever
        // calls this must get control back in both cases, and tell them
        // apart. (README.md's hints name the traps, for when you are stuck.)
        return false;
    }

    /// True once the body has run (or been asked to run) at least once.
    bool started() const noexcept { return greenlet_.started(); }
    /// True while a yielded value is waiting to be read.
    bool has_value() const noexcept { return value_.has_value(); }
    /// The value yielded last.
    T& value() noexcept { return *value_; }

private:
    friend class Yield<T>;

    std::optional<T> value_;       // yielded, not yet replaced
    Greenlet* consumer_ = nullptr; // who is waiting in resume(), if anyone
    Greenlet greenlet_;            // last: destroyed first, while the rest is alive
};

} // namespace detail

template <class T>
void Yield<T>::operator()(T value)
{
    // TODO(exercise): hand `value` to the loop and suspend the body until
    // the loop asks for the next one.
    (void)value;
}

/// A lazy sequence of `T` computed by a function that yields them one by one.
template <class T>
class Generator {
public:
    /// The sentinel that ends the range.
    using sentinel = std::default_sentinel_t;

    /// Reads the values of a generator; advancing it runs the body until its
    /// next `yield`.
    class iterator {
    public:
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using iterator_concept = std::input_iterator_tag;

        iterator() = default;

        T& operator*() const noexcept { return state_->value(); }
        T* operator->() const noexcept { return &state_->value(); }

        iterator& operator++()
        {
            state_->resume();
            return *this;
        }
        void operator++(int) { ++*this; }

        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept
        {
            return it.state_ == nullptr || !it.state_->has_value();
        }

    private:
        friend class Generator;
        explicit iterator(detail::GeneratorState<T>* state) noexcept : state_(state) {}

        detail::GeneratorState<T>* state_ = nullptr;
    };

    /// Makes a generator of the values `body` yields; nothing runs until begin().
    template <class F>
        requires(!std::is_same_v<std::remove_cvref_t<F>, Generator> &&
                 std::invocable<std::decay_t<F>&, Yield<T>&>)
    explicit Generator(F&& body)
        : state_(std::make_unique<detail::GeneratorState<T>>(std::forward<F>(body)))
    {
    }

    /// On the first call, runs the body until its first `yield` (or its end).
    iterator begin()
    {
        if (!state_)
            return iterator{};
        if (!state_->started())
            state_->resume();
        return iterator{state_.get()};
    }

    /// The end of the values.
    sentinel end() const noexcept { return std::default_sentinel; }

private:
    std::unique_ptr<detail::GeneratorState<T>> state_;
};

} // namespace eventlet
