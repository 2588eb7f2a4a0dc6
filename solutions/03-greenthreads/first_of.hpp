/// \file
/// first_of: the result of whichever of several green threads ends first.
/// The reference solution of chapter 3's exercise; README.md explains it.
#pragma once

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <vector>

#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>

namespace exercise {

/// Parks the current green thread until the first of `threads` ends, kills
/// the others (each unwinds at once; one that has not started never will),
/// and returns the result of the first, or rethrows the exception that
/// ended it. A green thread that has already ended wins at once, without
/// parking (the first such in the vector's order).
///
/// If the caller leaves early (its Timeout fires, or it is killed), the
/// green threads are left running; when they end later, nothing of the
/// caller's is touched.
///
/// \throws std::invalid_argument if `threads` is empty or holds an empty
///         handle; the exception that ended the first green thread;
///         whatever is thrown into the caller while it waits.
template <class T>
T first_of(std::vector<eventlet::GreenThread<T>> threads)
{
    if (threads.empty())
        throw std::invalid_argument("first_of needs at least one green thread");
    for (const auto& thread : threads)
        if (!thread)
            throw std::invalid_argument("first_of was given an empty GreenThread handle");
    // Owned by the links, not by this frame: a link may run after the
    // caller has left (a Timeout, a kill), and must find the event alive.
    auto winner = std::make_shared<eventlet::Event<std::size_t>>();
    for (std::size_t i = 0; i < threads.size(); ++i) {
        // A link runs in the green thread as it ends (at once, if it has):
        // send() never switches, so the first to end simply wins.
        threads[i].link([winner, i](eventlet::GreenThread<T>&) {
            if (!winner->ready())
                winner->send(i);
        });
    }
    const std::size_t first = winner->wait(); // no park if one had already ended
    for (std::size_t i = 0; i < threads.size(); ++i)
        if (i != first)
            threads[i].kill(); // unwinds it now; does nothing to one that has ended
    return threads[first].wait();
}

} // namespace exercise
