/// \file
/// GreenPile: calls spawned into a pool, their results read back in spawn order.
#pragma once

#include <cstddef>
#include <deque>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "eventlet/detail/result_iterator.hpp"
#include "eventlet/detail/unread_calls.hpp"
#include "eventlet/greenpool.hpp"
#include "eventlet/greenthread.hpp"

namespace eventlet {

/// A pile of calls whose results come back in the order they were spawned
/// (Eventlet's `eventlet.GreenPile`). spawn() returns nothing; iterating the
/// pile yields each result as soon as it and all those before it are ready,
/// so a consumer can use the first results while later calls still run:
///
///     eventlet::GreenPile<std::string> pile(pool);
///     for (const auto& url : urls)
///         pile.spawn(fetch_title, url);
///     std::string titles = eventlet::join(pile, "\n");
///
/// A pile built on a pool shares that pool's limit with everything else
/// the pool runs; a pile built with a size has a pool of its own.
///
/// Iterating consumes: each result is yielded once. A call spawned while
/// the pile is being iterated is yielded by the same iteration, after the
/// earlier ones; one spawned after an iteration ended is yielded by the
/// next. A call that throws rethrows at its position, from the iterator's
/// `++` (or begin()). Destroying the pile stops the calls whose results
/// nobody will read: those not started never run, those running are killed.
///
/// Two green threads may iterate one pile at once: each result goes to one
/// of them. The current result (`*it`) is the pile's, though, so each should
/// copy it before it next parks.
template <class T>
class GreenPile {
    static_assert(!std::is_void_v<T> && !std::is_reference_v<T>,
                  "a pile yields values: use GreenPool::spawn_n for calls without a result");

public:
    /// The type of the results.
    using value_type = T;

    /// The iterator of the results, an input iterator: `*it` is the current
    /// result; `++it` waits for the next one and throws what its call threw;
    /// `it == end()` once no spawned call is left unread. After a `++` that
    /// threw there is no current result (`*it` throws std::logic_error), and
    /// the next `++` goes on to the following one.
    using iterator = detail::ResultIterator<GreenPile>;

    /// A pile whose calls run in `pool`, sharing its limit.
    explicit GreenPile(GreenPool& pool) : pool_(&pool) {}
    /// A pile with a pool of its own of `size` slots.
    /// \throws std::invalid_argument if `size` is 0.
    explicit GreenPile(std::size_t size = 1000)
        : own_pool_(std::make_unique<GreenPool>(size)), pool_(own_pool_.get())
    {
    }

    /// Stops the calls whose results will never be read: those not started
    /// never run, those running are killed.
    ~GreenPile()
    {
        detail::stop_unread(pending_, handle_of, "a green pile stopping its calls");
    }

    GreenPile(const GreenPile&) = delete;
    GreenPile& operator=(const GreenPile&) = delete;

    /// Starts `f(args...)` in the pool (waiting for a slot if it is full,
    /// see GreenPool::spawn) and adds its result to the end of the pile.
    /// The result of `f` must convert to T.
    template <class F, class... Args>
    void spawn(F&& f, Args&&... args)
    {
        auto call = detail::bind_call(std::forward<F>(f), std::forward<Args>(args)...);
        pending_.push_back(pool_->spawn([call = std::move(call)]() mutable -> T { return call(); }));
    }

    /// Waits for the first unread result.
    /// \throws what its call threw.
    iterator begin()
    {
        advance();
        return iterator(*this);
    }
    /// The end of the results.
    std::default_sentinel_t end() const noexcept { return {}; }

    /// Number of calls spawned whose results have not been read.
    std::size_t unread() const noexcept { return pending_.size(); }
    /// The pool the calls run in.
    GreenPool& pool() const noexcept { return *pool_; }

private:
    friend iterator;

    static GreenThread<T>& handle_of(GreenThread<T>& thread) noexcept { return thread; }

    T& current()
    {
        if (!current_)
            throw std::logic_error("no current result: the last ++ of this pile threw");
        return *current_;
    }

    bool done() const noexcept { return !current_ && pending_.empty(); }

    void advance()
    {
        current_.reset();
        while (!pending_.empty() && !detail::take_oldest(pending_, handle_of, current_)) {
        }
    }

    std::unique_ptr<GreenPool> own_pool_;
    GreenPool* pool_;
    std::deque<GreenThread<T>> pending_;
    std::optional<T> current_;
};

} // namespace eventlet
