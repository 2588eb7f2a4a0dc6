// A group of servers, one per OS thread, on one port: the threads, the stop
// that crosses them, and how the calling hub waits for the others.
#include "server_group.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "eventlet/detail/shared_wait_line.hpp"
#include "eventlet/detail/wait_queue.hpp"
#include "eventlet/hub.hpp"
#include "eventlet/hub_handle.hpp"
#include "report.hpp"

namespace eventlet::detail {

// A member as the other threads see it: the hub to post to, and what to
// call there. `controls` is read and written in the member's own thread
// only (attach, the posted calls, ~GroupMember), so it needs no lock.
struct MemberSeat {
    HubHandle hub;
    MemberControls controls;
};

// What the group's threads share; every field but the seats' controls is
// guarded by `mutex`.
struct GroupShared {
    void stop() noexcept;
    void close_clients() noexcept;
    // A member failed: the whole group stops, and its clients are ended,
    // so that every thread returns soon and the error can be told.
    void fail(std::exception_ptr error) noexcept;
    // Hands `call` to every member's hub. Called under the lock.
    void post_to_members(void (*call)(MemberSeat&)) noexcept;
    void worker_ended() noexcept;

    mutable std::mutex mutex;
    bool stopping = false;
    std::vector<std::shared_ptr<MemberSeat>> seats; // the members serving now
    std::exception_ptr failure;                     // the first member's that failed
    std::size_t workers_running = 0;
    SharedWaitLine workers_ended; // where run() waits for the last one
};

void GroupShared::post_to_members(void (*call)(MemberSeat&)) noexcept
{
    // The caller's own member is reached at once, as Server::stop() would
    // be: a handler or a signal watcher in that hub sees it stopped on return.
    Hub* const here = Hub::existing();
    const HubHandle own = here != nullptr ? here->handle() : HubHandle();
    for (const std::shared_ptr<MemberSeat>& seat : seats) {
        if (here != nullptr && seat->hub == own) {
            call(*seat); // the controls never switch, and do not throw
            continue;
        }
        try {
            // The seat, not the member's server: a call that arrives after
            // the member returned finds its controls empty.
            seat->hub.post([seat, call] { call(*seat); });
        } catch (...) {
            report_current_exception("ServerThreads reaching one of its threads");
        }
    }
}

void GroupShared::stop() noexcept
{
    const std::lock_guard lock(mutex);
    if (std::exchange(stopping, true))
        return;
    post_to_members([](MemberSeat& seat) {
        if (seat.controls.stop)
            seat.controls.stop();
    });
}

void GroupShared::close_clients() noexcept
{
    const std::lock_guard lock(mutex);
    post_to_members([](MemberSeat& seat) {
        if (seat.controls.close_clients)
            seat.controls.close_clients();
    });
}

void GroupShared::fail(std::exception_ptr error) noexcept
{
    {
        const std::lock_guard lock(mutex);
        if (!failure)
            failure = std::move(error);
    }
    stop();
    close_clients();
}

void GroupShared::worker_ended() noexcept
{
    const std::lock_guard lock(mutex);
    if (--workers_running == 0)
        workers_ended.notify_all();
}

GroupMember::GroupMember(std::shared_ptr<GroupShared> shared) noexcept : shared_(std::move(shared)) {}

GroupMember::~GroupMember()
{
    if (!seat_)
        return;
    seat_->controls = {};
    const std::lock_guard lock(shared_->mutex);
    std::erase(shared_->seats, seat_);
}

void GroupMember::attach(MemberControls controls)
{
    if (seat_)
        throw std::logic_error("a member of a ServerGroup attaches once");
    auto seat = std::make_shared<MemberSeat>(MemberSeat{Hub::current().handle(), std::move(controls)});
    bool stopped_already = false;
    {
        const std::lock_guard lock(shared_->mutex);
        stopped_already = shared_->stopping;
        shared_->seats.push_back(seat);
    }
    seat_ = std::move(seat);
    // Outside the lock: a stop() racing with this attach either saw the seat
    // (and posted) or set `stopping` before we read it.
    if (stopped_already && seat_->controls.stop)
        seat_->controls.stop();
}

namespace {

std::size_t thread_count(std::size_t asked, std::size_t max_threads)
{
    const std::size_t count = asked != 0 ? asked : std::max(1U, std::thread::hardware_concurrency());
    if (count > max_threads)
        throw std::invalid_argument("ServerThreads: " + std::to_string(count) + " threads asked for; at most " +
                                    std::to_string(max_threads));
    return count;
}

std::vector<GreenSocket> bind_listeners(const Address& address, std::size_t count)
{
    // One listener alone keeps listen()'s default: a port already taken
    // fails with EADDRINUSE rather than being shared.
    const ListenOptions options{.reuse_port = count > 1};
    std::vector<GreenSocket> listeners;
    listeners.reserve(count);
    listeners.push_back(listen(address, options));
    // The first one's numeric address: port 0 and a host name are settled once.
    const Address bound = listeners.front().local_address();
    while (listeners.size() < count)
        listeners.push_back(listen(bound, options));
    return listeners;
}

} // namespace

ServerGroup::ServerGroup(const Address& address, std::size_t threads, std::size_t max_threads)
    : shared_(std::make_shared<GroupShared>()),
      listeners_(bind_listeners(address, thread_count(threads, max_threads))),
      address_(listeners_.front().local_address()),
      size_(listeners_.size())
{
}

ServerGroup::~ServerGroup() = default;

void ServerGroup::run_worker(const std::shared_ptr<GroupShared>& shared, const Body& body, GreenSocket listener)
{
    try {
        GroupMember member(shared);
        body(std::move(listener), member);
    } catch (...) {
        shared->fail(std::current_exception());
        // A server that threw may leave handlers running (their clients are
        // closed now). A green thread must not outlive its hub, which dies
        // with this thread: run the hub until nothing is left in it.
        try {
            Hub::current().switch_to();
        } catch (const Deadlock&) {
        } catch (...) {
            report_current_exception("a ServerThreads thread finishing its handlers");
        }
    }
    shared->worker_ended();
}

void ServerGroup::run(Body body)
{
    if (std::exchange(ran_, true))
        throw std::logic_error("serve() was already called on this server");
    // Every way out of run() joins them, since they use `body`.
    std::vector<std::jthread> workers;
    try {
        workers.reserve(size_ - 1);
        for (std::size_t i = 1; i < size_; ++i) {
            {
                const std::lock_guard lock(shared_->mutex);
                ++shared_->workers_running;
            }
            try {
                workers.emplace_back(run_worker, shared_, std::cref(body), std::move(listeners_[i]));
            } catch (...) {
                const std::lock_guard lock(shared_->mutex);
                --shared_->workers_running;
                throw;
            }
        }
        {
            GroupMember member(shared_);
            body(std::move(listeners_[0]), member);
        }
        // Green: the other green threads of this hub (a signal watcher
        // that calls stop(), say) go on running meanwhile.
        std::unique_lock lock(shared_->mutex);
        while (shared_->workers_running != 0)
            shared_->workers_ended.wait(lock, Deadline(std::nullopt));
    } catch (...) {
        // This green thread's own failure (its server, a thread that would
        // not start, a kill while it waited): it is the one to tell. The
        // others are stopped and joined without parking.
        shared_->fail(std::current_exception());
        throw;
    }
    workers.clear();
    std::exception_ptr failure;
    {
        const std::lock_guard lock(shared_->mutex);
        failure = shared_->failure;
    }
    if (failure)
        std::rethrow_exception(failure);
}

void ServerGroup::stop() noexcept { shared_->stop(); }

void ServerGroup::close_clients() noexcept { shared_->close_clients(); }

bool ServerGroup::stopped() const noexcept
{
    const std::lock_guard lock(shared_->mutex);
    return shared_->stopping;
}

} // namespace eventlet::detail
