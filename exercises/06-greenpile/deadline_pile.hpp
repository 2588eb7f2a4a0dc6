/// \file
/// DeadlinePile: a GreenPile whose calls each get a time limit, and a call
/// that runs out of it is yielded as a placeholder. The exercise of
/// chapter 6: fill in the gap marked TODO(exercise); README.md says what
/// it must do.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include <eventlet/errors.hpp>
#include <eventlet/greenpile.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/seconds.hpp>
#include <eventlet/timeout.hpp>

namespace exercise {

/// A pile of calls whose results come back in spawn order, as from
/// eventlet::GreenPile, where each call has `limit` seconds from the moment
/// it starts running. A call still running when its time is up is
/// interrupted at its next blocking point (its destructors run, its slot
/// goes back to the pool), and the pile yields `placeholder` in its place:
/// a page of twelve feeds shows "(no answer)" for the slow one instead of
/// waiting for it.
template <class T>
class DeadlinePile {
    static_assert(std::is_copy_constructible_v<T>, "each call cut off yields a copy of the placeholder");

public:
    /// The type of the results.
    using value_type = T;
    /// The iterator of the results: the GreenPile's own.
    using iterator = typename eventlet::GreenPile<T>::iterator;

    /// A pile whose calls run in `pool`, each with `limit` seconds, and
    /// yield `placeholder` when they run out of them.
    DeadlinePile(eventlet::GreenPool& pool, eventlet::Seconds limit, T placeholder)
        : pile_(pool), limit_(limit), placeholder_(std::move(placeholder))
    {
    }

    /// Starts `f(args...)` in the pool, as GreenPile::spawn does, with its
    /// time limit. The result of `f` must convert to T.
    template <class F, class... Args>
    void spawn([[maybe_unused]] F f, [[maybe_unused]] Args... args)
    {
        // TODO(exercise): spawn into pile_ a call that runs f(args...)
        // within this pile's limit, and gives the placeholder instead of
        // a result when, and only when, that limit is what stopped it. It
        // also counts, in `cut_off_`, the calls it gave up on.
    }

    /// Waits for the first unread result. \throws what its call threw.
    iterator begin() { return pile_.begin(); }
    /// The end of the results.
    std::default_sentinel_t end() const noexcept { return {}; }

    /// Number of calls spawned whose results have not been read.
    std::size_t unread() const noexcept { return pile_.unread(); }
    /// Number of calls so far that ran out of time (each yields, or has
    /// yielded, the placeholder).
    std::size_t cut_off() const noexcept { return *cut_off_; }

private:
    // A call may still be unwinding after the pile is gone (destroying a
    // GreenPile kills its calls, and a call's destructors may block): what
    // a call uses of the pile must not live in the pile.
    std::shared_ptr<std::size_t> cut_off_ = std::make_shared<std::size_t>(0);
    eventlet::GreenPile<T> pile_;
    eventlet::Seconds limit_;
    T placeholder_;
};

} // namespace exercise
