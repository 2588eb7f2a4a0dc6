// Private: what ServerThreads and wsgi::ServerThreads share. N listeners on
// one port (SO_REUSEPORT), N OS threads with a hub each, a stop that any
// thread may call, and the end of the whole group when one member fails.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "eventlet/address.hpp"
#include "eventlet/socket.hpp"

namespace eventlet::detail {

/// How the group reaches one member's server: both calls run in that
/// member's own thread, at its hub's turn, since nothing of a hub may be
/// touched from another thread.
struct MemberControls {
    /// Stops accepting (closes the member's listener); never switches.
    std::function<void()> stop;
    /// Ends the member's connections; empty if the server has no such thing.
    std::function<void()> close_clients;
};

struct GroupShared;
struct MemberSeat;

/// One member of a ServerGroup, as its server sees it: made by the group
/// in the member's thread, and destroyed there when the member returns.
class GroupMember {
public:
    explicit GroupMember(std::shared_ptr<GroupShared> shared) noexcept;
    /// Forgets the controls: the group no longer calls them.
    ~GroupMember();
    GroupMember(const GroupMember&) = delete;
    GroupMember& operator=(const GroupMember&) = delete;

    /// Tells the group how to stop this member's server. Call it once, in
    /// the member's thread, before serving. If the group was stopped
    /// already, `controls.stop` runs at once, here. The group may call the
    /// controls until the member returns, at any turn of its hub, so they
    /// must be safe to call once what they stop is gone: they hold it by a
    /// weak_ptr.
    void attach(MemberControls controls);

private:
    std::shared_ptr<GroupShared> shared_;
    std::shared_ptr<MemberSeat> seat_;
};

/// N listeners bound to one address, and the OS threads that serve them.
class ServerGroup {
public:
    /// What runs in each thread: serves `listener` until stopped. It calls
    /// member.attach() once its server exists.
    using Body = std::function<void(GreenSocket listener, GroupMember& member)>;

    /// Binds `threads` listeners to `address` (0: one per core), with
    /// SO_REUSEPORT when there are several; port 0 is chosen once, by the
    /// first, and the others bind the port it got.
    /// \throws std::invalid_argument for more than `max_threads`; as listen().
    ServerGroup(const Address& address, std::size_t threads, std::size_t max_threads);
    /// Closes the listeners that no member took (run() was not called).
    ~ServerGroup();
    ServerGroup(const ServerGroup&) = delete;
    ServerGroup& operator=(const ServerGroup&) = delete;

    /// Runs `body` once per listener: in the calling green thread for the
    /// first, in a new OS thread for each other one; returns when all have
    /// returned. A member that throws stops the others and ends their
    /// clients; its exception is rethrown here once they have all ended
    /// (an exception of the calling green thread's own member or wait goes
    /// first: the others are then joined without parking).
    /// \throws std::logic_error if called twice; std::system_error if an
    ///         OS thread cannot be started (the started ones are stopped).
    void run(Body body);

    /// Stops every member, from any thread: each stops in its own hub, at
    /// once if it is the calling thread's, else at its next turn; a member
    /// that has not started yet stops as it attaches. Calling it again does nothing. Never blocks (beyond a
    /// short lock) and never switches.
    void stop() noexcept;
    /// Ends the clients of every member that is serving, from any thread,
    /// each in its own hub (at once or at its next turn, as stop()). Never
    /// switches.
    void close_clients() noexcept;
    /// True once stop() was called, or a member failed.
    bool stopped() const noexcept;

    /// Where every listener listens (numeric).
    const Address& address() const noexcept { return address_; }
    /// The number of listeners, and of threads that serve them.
    std::size_t size() const noexcept { return size_; }

private:
    static void run_worker(const std::shared_ptr<GroupShared>& shared, const Body& body, GreenSocket listener);

    std::shared_ptr<GroupShared> shared_;
    std::vector<GreenSocket> listeners_;
    Address address_;
    std::size_t size_ = 0;
    bool ran_ = false;
};

/// The serve(make) of a ServerThreads whose shared State holds a `group`
/// and serves one member with `serve_member(listener, member, make)`:
/// checks `make`, then runs the group. The State is held for the whole run,
/// since the ServerThreads may be destroyed while the caller waits.
/// \throws std::invalid_argument (with `empty_message`) for an empty `make`;
///         as ServerGroup::run().
template <class State, class Make>
void serve_each_member(const std::shared_ptr<State>& shared, const Make& make, const char* empty_message)
{
    if (!make)
        throw std::invalid_argument(empty_message);
    const std::shared_ptr<State> state = shared;
    state->group.run([&state = *state, &make](GreenSocket listener, GroupMember& member) {
        state.serve_member(std::move(listener), member, make);
    });
}

} // namespace eventlet::detail
