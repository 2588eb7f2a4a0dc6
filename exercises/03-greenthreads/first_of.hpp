/// \file
/// first_of: the result of whichever of several green threads ends first.
/// The exercise of chapter 3: write the body marked TODO(exercise);
/// README.md says what it must do.
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
T first_of([[maybe_unused]] std::vector<eventlet::GreenThread<T>> threads)
{
    // TODO(exercise): check the arguments; arrange to learn which green
    // thread ends first (GreenThread::link, and an eventlet::Event); wait
    // for it; kill the others; return the winner's wait(). Where does what
    // the links share live, so that a link that runs after this function
    // has been left early touches nothing that is gone?
    throw std::logic_error("first_of is not written yet: see exercises/03-greenthreads/README.md");
}

} // namespace exercise
