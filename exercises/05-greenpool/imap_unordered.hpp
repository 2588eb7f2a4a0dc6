/// \file
/// imap_unordered: the results of a function applied concurrently over a
/// range, in the order the calls finish. The exercise of chapter 5: fill in
/// the four gaps marked TODO(exercise); README.md says what they must do.
#pragma once

#include <cstddef>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include <eventlet/greenpool.hpp>
#include <eventlet/queue.hpp>

namespace exercise {

/// The input range imap_unordered() returns: `f` applied to the elements of
/// `range` in green threads of `pool`, each result yielded as soon as its
/// call has finished (completion order, not input order).
///
/// - Lazy and bounded, like GreenPool::imap(): the input is read, and calls
///   are started, only as the consumer advances; at most `pool.size()` calls
///   are started and not yet consumed.
/// - A call that throws rethrows from the `++` (or begin()) that reaches its
///   result; iteration may go on after it.
/// - An input that throws ends the input: its exception comes after the
///   results of every call started before it, and the iteration ends there.
/// - Destroying it stops the calls whose results were not consumed: those
///   not started never run, those running are killed.
template <class F, class Range>
class ImapUnordered {
    using Argument = std::decay_t<std::ranges::range_reference_t<Range>>;

public:
    /// The type of the results.
    using value_type = std::remove_cvref_t<std::invoke_result_t<F&, Argument&>>;

    /// The iterator of the results; `*it` is the current result.
    class iterator {
    public:
        /// Iterator traits for an input iterator.
        using iterator_concept = std::input_iterator_tag;
        /// See ImapUnordered::value_type.
        using value_type = ImapUnordered::value_type;
        /// Distances between results.
        using difference_type = std::ptrdiff_t;

        iterator() = default;
        /// The current result.
        value_type& operator*() const { return *owner_->current_; }
        /// Waits for the next result to finish. \throws what its call (or the input) threw.
        iterator& operator++()
        {
            owner_->advance();
            return *this;
        }
        /// Same as ++it.
        void operator++(int) { ++*this; }
        /// True once every result has been yielded.
        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept
        {
            return it.done();
        }

    private:
        friend class ImapUnordered;
        bool done() const noexcept { return !owner_->current_; }
        explicit iterator(ImapUnordered& owner) : owner_(&owner) {}
        ImapUnordered* owner_ = nullptr;
    };

    /// Used by imap_unordered().
    ImapUnordered(eventlet::GreenPool& pool, F function, Range range)
        : pool_(pool), shared_(std::make_shared<Shared>(std::move(function))), range_(std::move(range))
    {
    }
    ImapUnordered(const ImapUnordered&) = delete;
    ImapUnordered& operator=(const ImapUnordered&) = delete;

    /// Stops the calls whose results will never be read.
    ~ImapUnordered()
    {
        // TODO(exercise): stop every call in started_ whose result was not
        // consumed. One that has not started must never run; one that is
        // running must unwind. Remember that a destructor must not throw.
    }

    /// Starts the calls and waits for the first result to finish.
    /// \throws std::logic_error if called twice; what the first call threw.
    iterator begin()
    {
        if (begun_)
            throw std::logic_error("an imap_unordered can be iterated only once");
        begun_ = true;
        at_.emplace(std::ranges::begin(range_));
        advance();
        return iterator(*this);
    }

    /// The end of the results.
    std::default_sentinel_t end() const noexcept { return {}; }

private:
    // How a call ended, as the call itself reports it.
    struct Outcome {
        std::size_t id;
        std::optional<value_type> value;
        std::exception_ptr error;
    };
    // What the calls share with the consumer, and keep alive if it goes first.
    struct Shared {
        explicit Shared(F function) : function(std::move(function)) {}
        F function;
        eventlet::Queue<Outcome> finished; // unbounded: put() never parks
    };

    // Moves to the next result: starts what calls it may, then waits for
    // whichever call finishes first.
    void advance()
    {
        current_.reset();
        // TODO(exercise): start the calls you may (start_calls), then take
        // the next finished call's outcome from shared_->finished: forget
        // its handle, rethrow its error or keep its value in current_. With
        // no call left to wait for, the iteration ends (current_ stays
        // empty), unless the input failed: then its error comes now.
    }

    // Keeps up to pool.size() calls started and unconsumed, without parking
    // for a slot while a call is under way (its result can be consumed meanwhile).
    void start_calls()
    {
        // TODO(exercise): while the input is not done, fewer than
        // pool_.size() calls are started and not consumed, and either none
        // is under way or the pool has a free slot: read one element (*at_,
        // then ++*at_; the end is std::ranges::end(range_)) and start_call()
        // on it. An exception from the input ends the input: keep it in
        // input_error_. Which exceptions are the input's, and which are not?
    }

    // Spawns one call, which reports its outcome to the queue however it ends.
    void start_call([[maybe_unused]] Argument argument)
    {
        // TODO(exercise): spawn a call into pool_ that applies
        // shared_->function to `argument` and, however the function ends,
        // puts an Outcome (a fresh id, the value or the error) into
        // shared_->finished. Keep its handle in started_ under that id. What
        // must the call capture, so that it outlives this object safely?
    }

    eventlet::GreenPool& pool_;
    std::shared_ptr<Shared> shared_;
    Range range_;
    std::optional<std::ranges::iterator_t<Range>> at_;
    std::unordered_map<std::size_t, eventlet::GreenThread<void>> started_; // not yet consumed
    std::size_t next_id_ = 0;
    std::exception_ptr input_error_;
    std::optional<value_type> current_;
    bool input_done_ = false;
    bool begun_ = false;
};

/// Calls `f` on each element of `range` in green threads of `pool`, and
/// yields the results in the order the calls finish. See ImapUnordered.
template <class F, class Range>
    requires std::ranges::input_range<Range>
auto imap_unordered(eventlet::GreenPool& pool, F f, Range&& range)
{
    return ImapUnordered<F, std::views::all_t<Range>>(pool, std::move(f),
                                                      std::views::all(std::forward<Range>(range)));
}

} // namespace exercise
