// Waiting for a descriptor to become ready (Eventlet's trampoline), and
// waking the waiters of a descriptor that is being closed.
#include <stdexcept>
#include <string>
#include <system_error>

#include <asio/bind_cancellation_slot.hpp>

#include "hub_impl.hpp"

namespace eventlet {
namespace {

const char* describe(Readiness want) { return want == Readiness::read ? "readable" : "writable"; }

} // namespace

void Hub::Impl::forget(int fd) noexcept
{
    const auto found = watches.find(fd);
    if (found == watches.end())
        return;
    watches.erase(found); // ~FdWatch leaves the descriptor open
}

void Hub::wait(int fd, Readiness want, std::optional<Seconds> timeout, Registration registration)
{
    using Outcome = detail::FdWait::Outcome;
    Impl& impl = *impl_;
    Greenlet& waiter = impl.blockable_current();
    if (fd < 0)
        throw std::invalid_argument("cannot wait on descriptor " + std::to_string(fd));

    // Allocated first, so that nothing can fail between adding a watch and
    // registering the wait that Cleanup below removes again.
    auto wait = std::make_shared<detail::FdWait>();
    wait->greenlet = &waiter;
    auto found = impl.watches.find(fd);
    if (found == impl.watches.end()) {
        try {
            found = impl.watches.emplace(fd, std::make_unique<detail::FdWatch>(impl.io, fd)).first;
        } catch (const std::system_error& e) {
            throw std::system_error(e.code(), "cannot wait on descriptor " + std::to_string(fd));
        }
    }
    detail::FdWatch& watch = *found->second;
    if (registration == Registration::until_close)
        watch.until_close = true;
    detail::FdWait*& slot = want == Readiness::read ? watch.reader : watch.writer;
    if (slot != nullptr)
        throw std::logic_error("two green threads wait for descriptor " + std::to_string(fd) +
                               " to become " + describe(want) +
                               "; only one may, or they would steal each other's data");

    slot = wait.get();
    TimerHandle timer;

    // However the greenlet leaves this call, the wait must end with it; set
    // up before anything below can throw, so that a failure (bad_alloc in
    // Asio, say) cannot leave a handler that would resume us later.
    struct Cleanup {
        Impl& impl;
        int fd;
        Readiness want;
        detail::FdWait& wait;
        TimerHandle& timer;
        ~Cleanup()
        {
            timer.cancel();
            wait.greenlet = nullptr;
            if (wait.outcome == Outcome::waiting) {
                // Left early (an exception was thrown into it): stop Asio's wait.
                wait.outcome = Outcome::abandoned;
                if (!wait.completed)
                    wait.cancel.emit(asio::cancellation_type::all);
            }
            if (wait.outcome == Outcome::closed)
                return; // notify_close() has already forgotten the descriptor
            const auto found = impl.watches.find(fd);
            if (found == impl.watches.end())
                return;
            detail::FdWatch& watch = *found->second;
            (want == Readiness::read ? watch.reader : watch.writer) = nullptr;
            if (watch.reader == nullptr && watch.writer == nullptr && !watch.until_close)
                impl.forget(fd);
        }
    } cleanup{impl, fd, want, *wait, timer};

    // The one way this wait ends: Asio calls this handler exactly once,
    // when the descriptor is ready or the wait is cancelled (by the
    // timeout, by notify_close(), or because the waiter left).
    watch.descriptor.async_wait(
        want == Readiness::read ? asio::posix::descriptor_base::wait_read
                                : asio::posix::descriptor_base::wait_write,
        asio::bind_cancellation_slot(wait->cancel.slot(), [&impl, wait](std::error_code error) {
            wait->completed = true;
            wait->cancel.slot().clear();
            if (wait->outcome == Outcome::waiting) {
                wait->outcome = error ? Outcome::failed : Outcome::ready;
                wait->error = error;
            }
            if (wait->greenlet != nullptr)
                impl.resume(*wait->greenlet);
        }));

    if (timeout) {
        timer = schedule_call(*timeout, [wait] {
            if (wait->outcome != Outcome::waiting)
                return;
            wait->outcome = Outcome::timed_out;
            wait->cancel.emit(asio::cancellation_type::all);
        });
    }

    switch_to();

    switch (wait->outcome) {
    case Outcome::ready:
        return;
    case Outcome::timed_out:
        throw IOTimeout("timed out waiting for descriptor " + std::to_string(fd) + " to become " +
                           describe(want));
    case Outcome::closed:
        throw IOClosed("descriptor " + std::to_string(fd) +
                       " was closed while a green thread waited on it");
    case Outcome::failed:
        throw std::system_error(wait->error, "waiting on descriptor " + std::to_string(fd));
    case Outcome::waiting:
    case Outcome::abandoned:
        break;
    }
    // Someone switched to this greenlet while it waited: a bug in the caller.
    throw std::logic_error("a green thread waiting on descriptor " + std::to_string(fd) +
                           " was switched to before the descriptor was ready");
}

void Hub::notify_close(int fd) noexcept
{
    using Outcome = detail::FdWait::Outcome;
    const auto found = impl_->watches.find(fd);
    if (found == impl_->watches.end())
        return;
    for (detail::FdWait* wait : {found->second->reader, found->second->writer}) {
        if (wait == nullptr)
            continue;
        // Even a waiter whose descriptor became ready gets IOClosed: the
        // descriptor it would now use is gone.
        const bool in_asio = wait->outcome == Outcome::waiting && !wait->completed;
        wait->outcome = Outcome::closed;
        if (in_asio)
            wait->cancel.emit(asio::cancellation_type::all);
    }
    impl_->forget(fd);
}

void trampoline(int fd, Readiness want, std::optional<Seconds> timeout, Registration registration)
{
    Hub::current().wait(fd, want, timeout, registration);
}

void notify_close(int fd) noexcept { Hub::current().notify_close(fd); }

} // namespace eventlet
