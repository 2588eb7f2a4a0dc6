// Calls handed to a hub from other OS threads.
#include "eventlet/hub_handle.hpp"

#include <mutex>
#include <stdexcept>
#include <utility>

#include <asio/post.hpp>

#include "hub_impl.hpp"

namespace eventlet {

bool HubHandle::post(std::function<void()> call) const
{
    if (!call)
        throw std::invalid_argument("HubHandle::post needs a call");
    if (!inbox_)
        return false;
    // Under the lock, so that the hub cannot be destroyed between the check
    // and the post. Asio's queue is safe to post to from any thread, and a
    // post wakes a loop blocked in epoll_wait (through Asio's eventfd).
    const std::lock_guard lock(inbox_->mutex);
    Hub* const hub = inbox_->hub;
    if (hub == nullptr)
        return false;
    // In the hub's thread the call joins the hub's own line of calls, so that
    // it runs in order with them, reported like them if it throws.
    asio::post(hub->io_context(), [hub, inbox = inbox_.get(), call = std::move(call)]() mutable {
        ++inbox->delivered;
        detail::HubInternals::impl(*hub).post_spin.handed_over();
        hub->schedule_call(0, std::move(call));
    });
    inbox_->posted.fetch_add(1, std::memory_order_release);
    return true;
}

bool HubHandle::alive() const noexcept
{
    if (!inbox_)
        return false;
    const std::lock_guard lock(inbox_->mutex);
    return inbox_->hub != nullptr;
}

ExpectPosts::ExpectPosts() : inbox_(Hub::current().handle().inbox_)
{
    // The hub's own thread: no lock. The inbox's hub is alive, since it is
    // the calling thread's.
    if (inbox_->expecting++ == 0)
        inbox_->expected_work.emplace(inbox_->hub->io_context().get_executor());
}

ExpectPosts::~ExpectPosts()
{
    // After the hub is gone (its thread exiting), its work is gone with it.
    if (--inbox_->expecting == 0 && inbox_->hub != nullptr)
        inbox_->expected_work.reset();
}

} // namespace eventlet
