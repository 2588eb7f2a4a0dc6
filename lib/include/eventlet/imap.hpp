/// \file
/// Imap: the results of a function applied concurrently over ranges, in input order.
#pragma once

#include <cstddef>
#include <deque>
#include <exception>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>

#include "eventlet/detail/result_iterator.hpp"
#include "eventlet/detail/unread_calls.hpp"
#include "eventlet/detail/wait_queue.hpp"
#include "eventlet/greenthread.hpp"

namespace eventlet {

/// The input range GreenPool::imap() returns: `f` applied to the elements
/// of the input ranges in green threads of the pool, the results yielded
/// in input order (Eventlet's `GreenPool.imap`).
///
/// - Lazy and bounded: the input is read, and calls are started, only as
///   the consumer advances; at most `pool.size()` calls are started and not
///   yet consumed, so an endless input works and memory stays flat.
/// - A call that throws rethrows at its position, from the iterator's
///   `++` (or begin()); iteration may go on after it.
/// - An input range that throws delivers that exception at its position,
///   after the results of the elements before it; the iteration then ends.
/// - A consumer that stops early (break, or an exception in the loop body)
///   destroys the Imap, which stops the calls it started and nobody will
///   read: those not started never run, those running are killed.
/// - A consumer interrupted (a Timeout, a kill) in `++` or begin(), while it
///   waits for a result or for a pool slot to start a call, gets that
///   exception and loses nothing: the next `++` (or begin()) goes on at the
///   same position, and every input is still called once, in order. (Only a
///   call the consumer runs inline, from a green thread of its own full
///   pool, ends with a kill of the consumer: that kill is its result.)
/// - Several green threads may read one Imap at once: each result goes to
///   one of them, and one at a time reads the input and starts calls.
/// - Destroying it while another green thread is parked reading it ends
///   the program with a message that names that reader.
///
/// The calls are green threads of the pool itself: they count in its
/// running(), share its limit with other work, and waitall() waits for them.
/// Iterating an Imap consumes its results; it is neither copyable nor movable.
template <class Pool, class F, class... Views>
class Imap {
public:
    /// The type of the results.
    using value_type = std::remove_cvref_t<
        std::invoke_result_t<F&, std::decay_t<std::ranges::range_reference_t<Views>>&...>>;
    static_assert(!std::is_void_v<value_type>,
                  "imap yields the results of its calls: use spawn_n for a function that returns nothing");

    /// The iterator of the results, an input iterator: `*it` is the current
    /// result; `++it` waits for the next one and throws what its call (or
    /// the input) threw; `it == end()` once every result has been yielded.
    /// After a `++` that threw there is no current result (`*it` throws
    /// std::logic_error), and the next `++` goes on to the following one.
    using iterator = detail::ResultIterator<Imap>;

    /// Used by GreenPool::imap().
    Imap(Pool& pool, F function, Views... views)
        : pool_(pool),
          function_(std::make_shared<F>(std::move(function))),
          views_(std::move(views)...)
    {
    }

    /// Stops the calls whose results will never be read: those not started
    /// never run, those running are killed. Ends the program, naming it, if
    /// another green thread is parked reading the imap: it would wake into
    /// freed memory.
    ~Imap()
    {
        // Before anything: the kills below would wake a parked reader.
        readers_.abort_if_read(reader_owner);
        detail::stop_unread(pending_, handle_of, "an imap stopping its calls");
        // A green thread that began to read while the kills yielded would
        // wake into the freed imap as well.
        readers_.abort_if_read(reader_owner);
    }

    Imap(const Imap&) = delete;
    Imap& operator=(const Imap&) = delete;

    /// Waits for the next result (the first, at the first call). Iterating
    /// consumes: a second loop goes on where the first one stopped.
    /// \throws what the call (or the input) threw.
    iterator begin()
    {
        if (!inputs_)
            inputs_.emplace(std::apply(
                [](auto&... views) { return std::make_tuple(Input<Views>(views)...); }, views_));
        advance();
        return iterator(*this);
    }

    /// The end of the results.
    std::default_sentinel_t end() const noexcept { return {}; }

private:
    friend iterator;

    // Where one input range stands: its iterator and its end.
    template <class View>
    struct Input {
        explicit Input(View& view) : at(std::ranges::begin(view)), end(std::ranges::end(view)) {}
        std::ranges::iterator_t<View> at;
        std::ranges::sentinel_t<View> end;
    };

    // The arguments of one call: a copy of one element of each input.
    using Arguments = std::tuple<std::decay_t<std::ranges::range_reference_t<Views>>...>;

    // The arguments of a call whose spawn() may park (see spawn_parking()),
    // shared by the call and the Imap until spawn() returns: neither copies
    // them (they may be move-only).
    struct NextCall {
        explicit NextCall(Arguments&& read) : arguments(std::move(read)) {}
        Arguments arguments;
        bool started = false; // the call has begun to run (inline, see spawn_parking())
    };

    // A call started and not yet consumed, or the error of the input in its place.
    struct Pending {
        GreenThread<value_type> thread;
        std::exception_ptr input_error;
    };

    static GreenThread<value_type>& handle_of(Pending& pending) noexcept { return pending.thread; }

    value_type& current()
    {
        if (!current_)
            throw std::logic_error("no current result: the last ++ of this imap threw");
        return *current_;
    }

    bool done() const noexcept { return !current_ && pending_.empty() && input_done_; }

    // Moves to the next result: starts what calls it may, then waits for
    // the oldest one (again, if another green thread reading this imap took
    // it). With nothing in line while another reader is starting the next
    // call, it waits for that reader rather than end the iteration early.
    void advance()
    {
        const detail::Readers::Reading reading(readers_);
        current_.reset();
        for (;;) {
            start_calls();
            if (pending_.empty()) {
                if (!starting_)
                    return;
                started_.park(); // then look again: that spawn may have thrown
                continue;
            }
            if (pending_.front().input_error) {
                const std::exception_ptr error = pending_.front().input_error;
                pending_.pop_front();
                std::rethrow_exception(error);
            }
            if (detail::take_oldest(pending_, handle_of, current_))
                return;
        }
    }

    // Starts calls (see start_calls_alone()) unless another reader already
    // is: two readers reading the input or taking turns in spawn() would
    // interleave their elements, and both would spawn the held ones.
    void start_calls()
    {
        if (starting_)
            return;
        starting_ = true;
        try {
            start_calls_alone();
        } catch (...) {
            end_starting();
            throw;
        }
        end_starting();
    }

    // The reader starting calls is done (or was interrupted): those waiting
    // for it look again, and one of them may take over the held arguments.
    void end_starting()
    {
        starting_ = false;
        if (!started_.empty())
            started_.notify_all();
    }

    // Keeps up to pool.size() calls started and unconsumed. With a call
    // already under way, it starts more only if that needs no waiting for a
    // slot: parked in spawn, the consumer could not take the results that
    // are ready meanwhile.
    void start_calls_alone()
    {
        while (!input_done_ && pending_.size() < pool_.size() &&
               (pending_.empty() || (pool_.free() > 0 && pool_.waiting() == 0))) {
            if (!next_) {
                // Only the input's own errors become a result in the line:
                // what is thrown into the consumer while spawn() parks it (a
                // kill, a Timeout) is the consumer's, and goes straight out.
                try {
                    next_ = read_input();
                } catch (...) {
                    input_done_ = true;
                    pending_.push_back(Pending{{}, std::current_exception()});
                    return;
                }
                if (!next_) {
                    input_done_ = true;
                    return;
                }
            }
            spawn_next();
        }
    }

    // Starts the call of the held arguments and puts it in line.
    void spawn_next()
    {
        GreenThread<value_type> thread;
        if (pool_.free() > 0 && pool_.waiting() == 0) {
            // A slot is free and nobody is in line for it: spawn() takes it
            // without parking, so nothing can be thrown into the consumer
            // meanwhile, and the arguments can go into the call directly.
            // Each call shares the function, so that a call still unwinding
            // after this Imap is gone does not use a destroyed one.
            Arguments arguments = std::move(*next_);
            next_.reset();
            thread = pool_.spawn([function = function_, arguments = std::move(arguments)]() mutable {
                return std::apply(*function, arguments);
            });
        } else {
            thread = spawn_parking();
        }
        pending_.push_back(Pending{std::move(thread), {}});
    }

    // spawn_next() when spawn() may park for a slot, or run the call inline
    // (the consumer a green thread of its own full pool). What is thrown
    // into the consumer there (a Timeout, a kill) must leave the arguments
    // held for the next attempt, or their input would never be called and
    // its result never come; so the call gets them through a holder the
    // Imap takes them back from. (Not on the common path, spawn_next()'s
    // first branch: a holder is an allocation more per call.)
    GreenThread<value_type> spawn_parking()
    {
        const auto call = std::make_shared<NextCall>(std::move(*next_));
        next_.reset();
        try {
            return pool_.spawn([function = function_, call] {
                call->started = true;
                return std::apply(*function, call->arguments);
            });
        } catch (...) {
            // Started, it ran inline in the consumer and was ended by the
            // consumer's kill, which is its result: running it again would
            // call its input twice. Else it never ran: held again, intact.
            if (!call->started)
                next_.emplace(std::move(call->arguments));
            throw;
        }
    }

    // The next element of each input, or nothing at the end of the shortest.
    std::optional<Arguments> read_input()
    {
        auto& inputs = *inputs_;
        const bool at_end = std::apply(
            [](auto&... input) { return ((input.at == input.end) || ...); }, inputs);
        if (at_end)
            return std::nullopt;
        // The elements are copied into the call: a reference into the input
        // (a generator's current value) would not outlive `++`.
        Arguments arguments = std::apply(
            [](auto&... input) { return Arguments(decay_copy(*input.at)...); }, inputs);
        std::apply([](auto&... input) { (++input.at, ...); }, inputs);
        return arguments;
    }

    template <class T>
    static std::decay_t<T> decay_copy(T&& value)
    {
        return std::forward<T>(value);
    }

    Pool& pool_;
    std::shared_ptr<F> function_;
    std::tuple<Views...> views_;
    std::optional<std::tuple<Input<Views>...>> inputs_;
    std::deque<Pending> pending_;
    std::optional<value_type> current_;
    bool input_done_ = false;
    // The arguments read from the input and not yet in a started call:
    // kept across an interrupted spawn().
    std::optional<Arguments> next_;
    // A reader is reading the input or spawning (see start_calls()), and the
    // readers with nothing to take meanwhile wait in started_ for it.
    bool starting_ = false;
    detail::WaitQueue started_{"an imap (a reader waiting for another to start a call)"};
    // The green threads in advance(), which the destructor must not find.
    detail::Readers readers_;
    // How the abort for an imap destroyed under a reader names it.
    static constexpr const char* reader_owner = "an Imap (a reader)";
};

} // namespace eventlet
