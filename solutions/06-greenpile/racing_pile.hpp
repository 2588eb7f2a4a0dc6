/// \file
/// RacingPile: calls spawned into a pool, their results read back in the
/// order the calls finish (the reference solution of the exercise of
/// chapter 6).
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
        // Taken out of the state, and the state dropped first: the links of
        // the calls killed below (or ending later) find no pile to update.
        std::list<eventlet::GreenThread<T>> unfinished = std::move(state_->running);
        state_.reset();
        // Two passes: cancel() never switches, kill() yields, and while the
        // killer yields the hub would start a call that is not cancelled yet.
        for (eventlet::GreenThread<T>& thread : unfinished)
            thread.cancel();
        for (eventlet::GreenThread<T>& thread : unfinished)
            if (!thread.dead())
                thread.kill();
    }

    RacingPile(const RacingPile&) = delete;
    RacingPile& operator=(const RacingPile&) = delete;

    /// Starts `f(args...)` in the pool (waiting for a slot if it is full;
    /// at once, inline, from one of a full pool's own green threads).
    /// The result of `f` must convert to T.
    template <class F, class... Args>
    void spawn(F f, Args... args)
    {
        eventlet::GreenThread<T> thread =
            pool_->spawn([f = std::move(f), ... args = std::move(args)]() mutable -> T {
                return std::invoke(f, std::move(args)...);
            });
        // Listed before it is linked: a call run inline has already ended,
        // and its link runs at once.
        const auto listed = state_->running.insert(state_->running.end(), thread);
        thread.link([weak = std::weak_ptr<State>(state_), listed](eventlet::GreenThread<T>& ended) {
            if (const std::shared_ptr<State> state = weak.lock()) {
                state->running.erase(listed);
                state->finished.put_nowait(ended); // unbounded: never parks
            }
        });
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
        if (unread() == 0)
            return;
        eventlet::GreenThread<T> first = state_->finished.get(); // parks until one ends
        current_.emplace(first.wait()); // it has ended: returns or rethrows at once
    }

    eventlet::GreenPool* pool_;
    std::shared_ptr<State> state_ = std::make_shared<State>();
    std::optional<T> current_;
};

} // namespace exercise
