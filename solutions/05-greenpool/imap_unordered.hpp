/// \file
/// imap_unordered: the results of a function applied concurrently over a
/// range, in the order the calls finish. The exercise of chapter 5; this is
/// the reference solution (see README.md).
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
        // Two passes, in this order: cancel() never switches, but each kill()
        // yields to the hub, and in that turn the hub starts any call still
        // waiting to start. So every call not yet started is cancelled before
        // the first running one is killed.
        for (auto& [id, thread] : started_)
            thread.cancel();
        for (auto& [id, thread] : started_) {
            try {
                if (!thread.dead())
                    thread.kill();
            } catch (...) {
                // A destructor must not throw; the call is on its way out anyway.
            }
        }
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
        start_calls();
        if (started_.empty()) {
            if (input_error_)
                std::rethrow_exception(std::exchange(input_error_, nullptr));
            return; // the end
        }
        Outcome outcome = shared_->finished.get();
        started_.erase(outcome.id);
        if (outcome.error)
            std::rethrow_exception(outcome.error);
        current_.emplace(std::move(*outcome.value));
    }

    // Keeps up to pool.size() calls started and unconsumed, without parking
    // for a slot while a call is under way (its result can be consumed meanwhile).
    void start_calls()
    {
        while (!input_done_ && started_.size() < pool_.size() &&
               (started_.empty() || pool_.free() > 0)) {
            std::optional<Argument> argument;
            try { // only the input's own errors are the input's
                if (*at_ == std::ranges::end(range_)) {
                    input_done_ = true;
                    return;
                }
                argument.emplace(**at_);
                ++*at_;
            } catch (...) {
                input_done_ = true;
                input_error_ = std::current_exception();
                return;
            }
            start_call(std::move(*argument));
        }
    }

    // Spawns one call, which reports its outcome to the queue however it ends.
    void start_call(Argument argument)
    {
        const std::size_t id = next_id_++;
        auto thread = pool_.spawn([shared = shared_, id, argument = std::move(argument)]() mutable {
            Outcome outcome{id, std::nullopt, nullptr};
            try {
                outcome.value.emplace(shared->function(argument));
            } catch (...) {
                outcome.error = std::current_exception(); // GreenletExit too: never lost
            }
            shared->finished.put(std::move(outcome));
        });
        started_.emplace(id, std::move(thread));
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
