/// \file
/// RacingPile: calls spawned into a pool, their results read back in the
/// order the calls finish. The exercise of chapter 6: fill in the three
/// gaps marked TODO(exercise); README.md says what they must do.
#pragma once

#include <cstddef>
#include <functional>
#include <iterator>
#include <list>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include <eventlet/greenpool.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/queue.hpp>

namespace exercise {

/// A pile whose results come back in the order its calls finish, not the
/// order they were spawned (Python's `concurrent.futures.as_completed`, on
/// green threads). Like eventlet::GreenPile otherwise: spawn() runs a call
/// in the pool, sharing its limit; iterating consumes, each result once;
/// a call that throws rethrows from the iterator's `++` (or begin()) when
/// its turn comes; destroying the pile stops the calls nobody will read.
template <class T>
class RacingPile {
    static_assert(!std::is_void_v<T> && !std::is_reference_v<T>, "a pile yields values");

    // What the pile shares with the links of its calls. A link runs when
    // its call ends, which may be after the pile is gone: it holds this
    // weakly, and finds nothing once the pile has been destroyed.
    struct State {
        std::list<eventlet::GreenThread<T>> running;        // spawned, not ended
        eventlet::Queue<eventlet::GreenThread<T>> finished; // ended, not read
    };

public:
    /// The type of the results.
    using value_type = T;

    /// The iterator of the results; `*it` is the current result.
    class iterator {
    public:
        /// Iterator traits for an input iterator.
        using iterator_concept = std::input_iterator_tag;
        /// See RacingPile::value_type.
        using value_type = T;
        /// Distances between results.
        using difference_type = std::ptrdiff_t;

        iterator() = default;
        /// The current result.
        T& operator*() const { return *pile_->current_; }
        /// Waits for the next call to finish. \throws what it threw.
        iterator& operator++()
        {
            pile_->advance();
            return *this;
        }
        /// Same as ++it.
        void operator++(int) { ++*this; }
        /// True when the pile had nothing left to yield.
        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept
        {
            return it.done();
        }

    private:
        friend class RacingPile;
        bool done() const noexcept { return !pile_->current_; }
        explicit iterator(RacingPile& pile) : pile_(&pile) {}
        RacingPile* pile_ = nullptr;
    };

    /// A pile whose calls run in `pool`.
    explicit RacingPile(eventlet::GreenPool& pool) : pool_(&pool) {}

    /// Stops the calls whose results will never be read: those not started
    /// never run, those running are killed (the caller yields meanwhile).
    ~RacingPile()
    {
        // TODO(exercise): cancel the calls that have not started and kill
        // those still running. Their links run as they end (some while this
        // destructor runs, some perhaps later): what must they find?
    }

    RacingPile(const RacingPile&) = delete;
    RacingPile& operator=(const RacingPile&) = delete;

    /// Starts `f(args...)` in the pool (waiting for a slot if it is full;
    /// at once, inline, from one of a full pool's own green threads).
    /// The result of `f` must convert to T.
    template <class F, class... Args>
    void spawn([[maybe_unused]] F f, [[maybe_unused]] Args... args)
    {
        // TODO(exercise): spawn the call in the pool (its result converted
        // to T), list it in `running`, and link it so that when it ends it
        // moves from `running` to `finished`. Which comes first, the listing
        // or the link, when the pool runs the call inline?
    }

    /// Waits for the first call to finish (if any is unread).
    /// \throws what it threw.
    iterator begin()
    {
        advance();
        return iterator(*this);
    }
    /// The end of the results.
    std::default_sentinel_t end() const noexcept { return {}; }

    /// Number of calls spawned whose results have not been read.
    std::size_t unread() const noexcept
    {
        return state_->running.size() + state_->finished.size();
    }

private:
    void advance()
    {
        current_.reset();
        // TODO(exercise): unless every call has been read, wait for the next
        // one to finish and keep its result in `current_` (or rethrow what
        // it threw).
    }

    eventlet::GreenPool* pool_;
    std::shared_ptr<State> state_ = std::make_shared<State>();
    std::optional<T> current_;
};

} // namespace exercise
