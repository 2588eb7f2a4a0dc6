/// \file
/// How Imap stops and reads its line of calls, whose results are read in order.
#pragma once

#include <cstddef>
#include <deque>

#include "eventlet/hub.hpp"

namespace eventlet::detail {

/// Reports an exception escaping a destructor's cleanup on stderr.
void report_cleanup_failure(const char* what) noexcept;
/// Ends the process with a message naming `owner`: `alive` of its green
/// threads are still alive after their thread's hub was destroyed.
[[noreturn]] void fail_after_hub(const char* owner, std::size_t alive) noexcept;

/// Stops the green threads of `calls` whose results nobody will read:
/// those not started never run, those running are killed (they unwind).
/// `thread_of(element)` gives an element's GreenThread handle (or an empty one).
///
/// In two passes: cancelling never switches, but each kill yields, and in
/// that turn the hub would start any call not yet cancelled.
template <class Calls, class ThreadOf>
void stop_unread(Calls& calls, ThreadOf thread_of, const char* owner) noexcept
{
    // During the thread's exit, after its hub (a pile kept in a global, say),
    // a green thread not finished can be neither stopped nor unwound: all
    // that held it up is gone. Say so, rather than touch the hub's remains.
    if (Hub::existing() == nullptr) {
        std::size_t alive = 0;
        for (auto& call : calls)
            if (auto& thread = thread_of(call); thread && !thread.dead())
                ++alive;
        if (alive > 0)
            fail_after_hub(owner, alive);
        return;
    }
    for (auto& call : calls)
        if (auto& thread = thread_of(call))
            thread.cancel();
    for (auto& call : calls) {
        auto& thread = thread_of(call);
        if (!thread || thread.dead())
            continue;
        try {
            thread.kill();
        } catch (...) {
            report_cleanup_failure(owner);
        }
    }
}

/// Takes the oldest call's result out of `calls` into `current` (`thread_of`
/// as for stop_unread()), parking
/// until the call has ended. If the wait is interrupted (a Timeout, or a
/// kill of the reader), the call stays first in line and its result is not
/// lost; if the call itself threw, it leaves the line and its exception is
/// rethrown here.
template <class Call, class ThreadOf, class Result>
void take_oldest(std::deque<Call>& calls, ThreadOf thread_of, Result& current)
{
    thread_of(calls.front()).join();
    auto oldest = std::move(thread_of(calls.front()));
    calls.pop_front();
    current.emplace(oldest.wait()); // never parks now
}

} // namespace eventlet::detail
