/// \file
/// GreenPile: calls spawned into a pool, their results read back in spawn order.
#pragma once

#include <concepts>
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
#include "eventlet/detail/wait_queue.hpp"
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
/// next. A spawn() counts in the pile from the moment it starts waiting for
/// a slot, as in Eventlet: an iteration that reaches the last result while
/// another green thread is parked in spawn() waits for that call too, and
/// ends only if the spawn throws instead (its caller killed, say). A call
/// that throws rethrows at its position, from the iterator's `++` (or
/// begin()). Destroying the pile stops the calls whose results nobody will
/// read: those not started never run, those running are killed; a call
/// whose spawn() is still parked for a slot never runs either (that spawn()
/// returns, or throws std::logic_error if the pile's own pool went with it).
///
/// Two green threads may iterate one pile at once: each result goes to one
/// of them. The current result (`*it`) is the pile's, though, so each should
/// copy it before it next parks. Destroy a pile only when no green thread
/// is iterating it: one parked in it, waiting for a result, would wake into
/// the freed pile, so the destructor ends the program with a message that
/// names it instead. When no other green thread is reading it, its reader
/// may destroy it between two results, and so may one of its own calls.
template <class T>
class GreenPile {
    static_assert(!std::is_void_v<T> && !std::is_reference_v<T>,
                  "a pile yields values: use GreenPool::spawn_n for calls without a result");

public:
    /// The type of the results.
    using value_type = T;

    /// The iterator of the results, an input iterator: `*it` is the current
    /// result; `++it` waits for the next one and throws what its call threw;
    /// `it == end()` once no spawned call is left unread and no spawn() is
    /// waiting for a slot. After a `++` that threw there is no current
    /// result (`*it` throws std::logic_error), and the next `++` goes on to
    /// the following one.
    using iterator = detail::ResultIterator<GreenPile>;

    /// A pile whose calls run in `pool`, sharing its limit.
    explicit GreenPile(GreenPool& pool) : pool_(&pool) {}
    /// A pile with a pool of its own of `size` slots.
    /// \throws std::invalid_argument if `size` is 0.
    explicit GreenPile(std::size_t size = 1000)
        : own_pool_(std::make_unique<GreenPool>(size)), pool_(own_pool_.get())
    {
    }
    /// Same as GreenPile(std::size_t), for a signed number.
    /// \throws std::invalid_argument if `size` is 0 or negative.
    template <std::signed_integral Count>
    explicit GreenPile(Count size) : GreenPile(detail::pool_size(size))
    {
    }

    /// Stops the calls whose results will never be read: those not started
    /// never run, those running are killed, and a spawn() still parked for
    /// a slot in another green thread adds no call (see the class doc).
    /// Ends the program, naming it, if another green thread is parked
    /// reading the pile: it would wake into freed memory.
    ~GreenPile()
    {
        // Before anything: the kills below would wake a parked reader.
        readers_.abort_if_read(reader_owner);
        // First, as stop_unread() yields: a spawn() that gets its slot
        // meanwhile, or later, must find the pile gone.
        if (alive_)
            *alive_ = false;
        detail::stop_unread(pending_, handle_of, "a green pile stopping its calls");
        // A green thread that began to read while the kills yielded would
        // wake into the freed pile as well.
        readers_.abort_if_read(reader_owner);
    }

    GreenPile(const GreenPile&) = delete;
    GreenPile& operator=(const GreenPile&) = delete;

    /// Starts `f(args...)` in the pool (waiting for a slot if it is full,
    /// see GreenPool::spawn) and adds its result to the end of the pile.
    /// The result of `f` must convert to T.
    /// \throws what GreenPool::spawn throws (and what is thrown into the
    ///         caller while it waits); the call is then not in the pile.
    template <class F, class... Args>
    void spawn(F&& f, Args&&... args)
    {
        auto call = detail::bind_call(std::forward<F>(f), std::forward<Args>(args)...);
        if (!alive_)
            alive_ = std::make_shared<bool>(true);
        // Held, not read through `this`: the pile may be destroyed while
        // this spawn waits for a slot.
        const std::shared_ptr<const bool> alive = alive_;
        // Counted before waiting for the slot (Eventlet's counter), so that
        // an iteration reaching the end meanwhile waits for this call.
        ++in_flight_;
        try {
            auto thread = pool_->spawn([call = std::move(call)]() mutable -> T { return call(); });
            if (!*alive) {
                // Nobody will read it. It has not started: the pool's
                // spawn() does not switch once it has the slot.
                thread.cancel();
                return;
            }
            pending_.push_back(std::move(thread));
        } catch (...) {
            if (*alive)
                end_in_flight();
            throw;
        }
        end_in_flight();
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

    /// Number of calls spawned whose results have not been read (a spawn()
    /// still waiting for a slot does not count yet).
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

    bool done() const noexcept { return !current_ && pending_.empty() && in_flight_ == 0; }

    void advance()
    {
        const detail::Readers::Reading reading(readers_);
        current_.reset();
        for (;;) {
            if (!pending_.empty()) {
                if (detail::take_oldest(pending_, handle_of, current_))
                    return;
            } else if (in_flight_ > 0) {
                spawned_.park(); // then look again: it may have thrown instead
            } else {
                return;
            }
        }
    }

    // A spawn() is no longer waiting for its slot: its call is in the pile,
    // or it threw. The readers waiting for it look again.
    void end_in_flight()
    {
        --in_flight_;
        spawned_.notify_all();
    }

    std::unique_ptr<GreenPool> own_pool_;
    GreenPool* pool_;
    std::deque<GreenThread<T>> pending_;
    std::optional<T> current_;
    // Calls of spawn() waiting for a pool slot, and the readers waiting for them.
    std::size_t in_flight_ = 0;
    detail::WaitQueue spawned_{"a GreenPile (a reader waiting for a spawn)"};
    // False once the pile is destroyed: what a spawn() that parked holds
    // instead of `this`. Made by the first spawn().
    std::shared_ptr<bool> alive_;
    // The green threads in advance(), which the destructor must not find.
    detail::Readers readers_;
    // How the abort for a pile destroyed under a reader names the pile.
    static constexpr const char* reader_owner = "a GreenPile (a reader)";
};

} // namespace eventlet
