// A green thread may still wait in resolve() when its OS thread exits and
// the thread's hub is destroyed; the lookup thread, which cannot be stopped,
// ends later and must drop its result, not hand it to the dead hub.
#include <catch2/catch.hpp>

#include <eventlet/address.hpp>
#include <eventlet/detail/lookup.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/resolver.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../support/child_process.hpp"

namespace {

// A slow name server: each lookup blocks its lookup thread until release().
// The lookup threads hold it through the lookup function (they copy the
// function for each lookup, and drop the copy once they are done with the
// result), so its destruction says that the last of them is past the
// hand-over of its result.
class SlowNameServer {
public:
    explicit SlowNameServer(std::promise<void>& gone) : gone_(gone) {}
    ~SlowNameServer() { gone_.set_value(); }
    SlowNameServer(const SlowNameServer&) = delete;
    SlowNameServer& operator=(const SlowNameServer&) = delete;

    std::vector<eventlet::Address> look_up(std::uint16_t port)
    {
        std::unique_lock lock(mutex_);
        started_ = true;
        changed_.notify_all();
        changed_.wait(lock, [this] { return released_; });
        return {eventlet::Address("127.0.0.1", port)};
    }
    bool wait_started()
    {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, std::chrono::seconds(5), [this] { return started_; });
    }
    void release()
    {
        const std::lock_guard lock(mutex_);
        released_ = true;
        changed_.notify_all();
    }

private:
    std::promise<void>& gone_;
    std::mutex mutex_;
    std::condition_variable changed_;
    bool started_ = false;
    bool released_ = false;
};

// A thread whose green thread waits in resolve() on a slow name exits, its
// hub with it; then the lookup ends. Returns once the lookup thread is past
// the hand-over of the result; a crash there ends the process.
void hub_exits_while_resolving()
{
    std::promise<void> gone;
    std::future<void> server_gone = gone.get_future();
    auto server = std::make_shared<SlowNameServer>(gone);
    auto previous = eventlet::detail::replace_lookup(
        [server](const std::string&, std::uint16_t port) { return server->look_up(port); });

    bool started = false;
    std::thread([&server, &started] {
        eventlet::spawn_n([] { eventlet::resolve(eventlet::Address("slow.test", 80)); });
        eventlet::sleep(0); // it parks in resolve(), its lookup handed to a lookup thread
        started = server->wait_started();
    }).join(); // the thread's hub is destroyed as it exits, the green thread still parked
    if (!started)
        throw std::runtime_error("the lookup did not start within 5 s");

    eventlet::detail::replace_lookup(std::move(previous));
    server->release();
    server.reset();
    // The lookup thread now hands its result over, and lets go of the server.
    if (server_gone.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
        throw std::runtime_error("the lookup thread did not finish within 10 s");
}

} // namespace

TEST_CASE("a name lookup that ends after its waiter's thread and hub are gone drops its result",
          "[threads][resolve]")
{
#if defined(__SANITIZE_THREAD__)
    // In this process: under TSan, a child of this runner (which has threads
    // of its own at the fork) that starts two threads was ended by TSan,
    // "dup thread with used id": a new thread got the id of one of the
    // parent's, which TSan still counts as alive. The parked green thread,
    // its stack and the lookup's state are left behind, which TSan does not
    // mind; a leak checker (ASan's) would, and there the child runs it.
    hub_exits_while_resolving();
#else
    const auto child = test_support::run_in_child(hub_exits_while_resolving);
    INFO(child.stderr_text);
    CHECK(child.exited());
    CHECK(child.exit_code() == 0);
#endif
}
