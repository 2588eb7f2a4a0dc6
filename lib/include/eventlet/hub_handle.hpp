/// \file
/// HubHandle: how another OS thread hands a call to a hub.
#pragma once

#include <functional>
#include <memory>
#include <utility>

namespace eventlet {

namespace detail {
struct HubInbox;
} // namespace detail

/// A thread-safe way to reach one hub from any OS thread: post() hands it a
/// call, which the hub runs in its own thread at its next turn, as it runs
/// the calls of Hub::schedule_call().
///
/// A hub belongs to the OS thread that made it, and nothing else of it may
/// be touched from another thread: not its timers, not its green threads,
/// not the sockets its green threads use. The handle is the one exception.
/// Copies are cheap, and all of them may be used at once from any thread.
/// A handle outlives its hub safely: once the hub is destroyed (its thread
/// has exited), post() does nothing and returns false.
///
///     eventlet::HubHandle hub = eventlet::Hub::current().handle();
///     std::thread worker([hub] {
///         auto answer = compute();                     // blocks this thread only
///         hub.post([answer] { publish(answer); });     // runs in the hub's thread
///     });
///
/// The hub does not wait for calls it was not told about: a green thread
/// that parks until a call from another thread wakes it must keep an
/// ExpectPosts alive meanwhile, or the hub, seeing nothing left that could
/// wake anyone, raises Deadlock. tpool::execute() and SharedQueue do that
/// themselves; they are built on this handle.
class HubHandle {
public:
    /// A handle that reaches no hub: post() returns false.
    HubHandle() noexcept = default;

    /// Runs `call` in the hub's thread, as a hub callback, at the hub's next
    /// turn (an exception escaping it is reported on stderr, and the hub goes
    /// on). Calls posted by one thread run in the order it posted them.
    /// A hub blocked in its loop wakes at once; a busy one runs the call
    /// within its next two turns, unless hundreds of calls wait ahead of it:
    /// a turn runs only so many before the hub's green threads and timers,
    /// so that a thread posting without pause cannot starve them (its calls
    /// pile up in the hub's queue instead). A call accepted by a hub whose
    /// thread exits before running it is destroyed unrun: wait for an answer
    /// (through a SharedQueue, say) to know that one ran. Callable from any
    /// thread, the hub's own included. Never blocks (beyond a short lock) and
    /// never switches.
    /// \returns false, without running `call`, if the hub is gone.
    /// \throws std::bad_alloc; std::invalid_argument for an empty `call`.
    bool post(std::function<void()> call) const;

    /// True while the hub exists. The answer may be stale by the time the
    /// caller reads it (the hub's thread may exit at any moment); post()'s
    /// result is the one that counts.
    bool alive() const noexcept;

    /// True if both handles reach the same hub (or neither reaches one).
    friend bool operator==(const HubHandle& a, const HubHandle& b) noexcept
    {
        return a.inbox_ == b.inbox_;
    }

private:
    friend class Hub;
    friend class ExpectPosts;
    explicit HubHandle(std::shared_ptr<detail::HubInbox> inbox) noexcept
        : inbox_(std::move(inbox))
    {
    }
    std::shared_ptr<detail::HubInbox> inbox_;
};

/// While one exists, the calling OS thread's hub expects calls from other
/// threads (HubHandle::post()): it waits for them instead of raising
/// Deadlock when nothing else is left that could wake a green thread.
///
///     eventlet::ExpectPosts expecting;                 // before the other thread may post
///     std::thread worker([hub, &done] { ...; hub.post([&done] { done.send(); }); });
///     done.wait();                                     // no Deadlock while the worker works
///
/// Keep it no longer than the posts are expected: while it lives, a hub
/// whose green threads really are stuck waits for ever instead of saying so.
/// Create and destroy it in the hub's own thread.
class ExpectPosts {
public:
    /// Tells the calling thread's hub to expect posts (creating the hub if need be).
    ExpectPosts();
    /// The hub stops expecting (once no other ExpectPosts of it is left).
    ~ExpectPosts();
    ExpectPosts(const ExpectPosts&) = delete;
    ExpectPosts& operator=(const ExpectPosts&) = delete;

private:
    std::shared_ptr<detail::HubInbox> inbox_;
};

} // namespace eventlet
