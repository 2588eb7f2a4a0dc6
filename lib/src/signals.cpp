// Signals through the hub: Asio's signal_set turns a signal into a
// completion on the hub's io_context, which wakes the waiting green thread.
#include "eventlet/signals.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <asio/signal_set.hpp>

#include "eventlet/hub.hpp"

namespace eventlet {

namespace detail {

class SignalSetRegistry;

/// The part of a SignalSet's state that its hub's registry reaches.
struct RegisteredSignalSet {
    explicit RegisteredSignalSet(asio::io_context& io);
    ~RegisteredSignalSet();
    RegisteredSignalSet(const RegisteredSignalSet&) = delete;
    RegisteredSignalSet& operator=(const RegisteredSignalSet&) = delete;

    // Asio installs one process-wide handler per signal, which writes the
    // number to a pipe: async-signal-safe. Everything else happens when
    // the hub reads the pipe, as an ordinary completion. Empty once the
    // hub is gone.
    std::optional<asio::signal_set> set;
    SignalSetRegistry* registry = nullptr; // null once the hub is gone
};

/// The SignalSets made on one hub, as a service of its io_context. When the
/// io_context goes (with the hub), Asio shuts its services down newest
/// first; this one is made after Asio's own signal service, so it is shut
/// down first, while that service still exists, and destroys the Asio sets
/// of the SignalSets that outlive their hub (a static, a thread_local made
/// before the hub): later, their destructors would touch what the hub freed.
class SignalSetRegistry final : public asio::execution_context::service {
public:
    /// Asio's key for the service.
    static inline asio::execution_context::id id;
    /// The registry of `owner`'s SignalSets.
    explicit SignalSetRegistry(asio::execution_context& owner) : asio::execution_context::service(owner) {}
    /// The SignalSets alive on the hub.
    std::vector<RegisteredSignalSet*> sets;

private:
    void shutdown() override
    {
        for (RegisteredSignalSet* entry : sets) {
            entry->set.reset();
            entry->registry = nullptr;
        }
        sets.clear();
    }
};

RegisteredSignalSet::RegisteredSignalSet(asio::io_context& io)
{
    set.emplace(io); // Asio's signal service first: it is shut down after the registry
    registry = &asio::use_service<SignalSetRegistry>(io);
    registry->sets.push_back(this);
}

RegisteredSignalSet::~RegisteredSignalSet()
{
    if (registry != nullptr)
        std::erase(registry->sets, this);
}

} // namespace detail

struct SignalSet::Impl : detail::RegisteredSignalSet {
    using RegisteredSignalSet::RegisteredSignalSet;
    bool waiting = false;
    bool destroyed = false; // the SignalSet went while a green thread waited
};

SignalSet::SignalSet(std::initializer_list<int> signals)
    : impl_(std::make_shared<Impl>(Hub::current().io_context()))
{
    for (const int number : signals) {
        std::error_code error;
        impl_->set->add(number, error);
        if (error)
            throw std::system_error(error, "cannot catch signal " + std::to_string(number));
    }
}

SignalSet::~SignalSet()
{
    if (impl_->waiting && impl_->set) {
        // The waiter wakes, and leaves wait() with an error: its own copy
        // of the state keeps what it touches on the way out alive.
        impl_->destroyed = true;
        std::error_code ignored;
        impl_->set->clear(ignored);
        impl_->set->cancel(ignored);
    }
}

int SignalSet::wait()
{
    Hub& hub = Hub::current();
    if (&Greenlet::current() == &hub.greenlet())
        throw std::logic_error("cannot wait for a signal inside the hub: a hub callback must not wait");
    // This object may be destroyed while the green thread waits: past the
    // switch below, only this copy of its state is touched.
    const std::shared_ptr<Impl> impl = impl_;
    if (impl->waiting)
        throw std::logic_error("two green threads wait on one SignalSet; only one may");

    // Shared with the completion handler, which outlives this call when
    // the green thread leaves early (killed, timed out).
    struct Arrival {
        Greenlet* waiter; // null once nobody waits
        bool done = false;
        std::error_code error;
        int number = 0;
    };
    auto arrival = std::make_shared<Arrival>();
    arrival->waiter = &Greenlet::current();
    impl->waiting = true;
    struct StopWaiting {
        Impl& impl;
        Arrival& arrival;
        ~StopWaiting()
        {
            impl.waiting = false;
            arrival.waiter = nullptr;
            if (!arrival.done && impl.set)
                impl.set->cancel(); // a signal that comes later is kept for the next wait()
        }
    } stop_waiting{*impl, *arrival};

    impl->set->async_wait([arrival, &hub](std::error_code error, int number) {
        arrival->done = true;
        arrival->error = error;
        arrival->number = number;
        // Through schedule_call, so that the switch runs where the hub
        // reports what escapes a callback, like every other wake-up.
        if (arrival->waiter != nullptr)
            hub.schedule_call(0, [arrival] {
                if (arrival->waiter != nullptr)
                    arrival->waiter->switch_to();
            });
    });

    hub.switch_to();
    if (!arrival->done)
        throw std::logic_error("a green thread waiting for a signal was switched to before one came");
    if (impl->destroyed)
        throw std::system_error(asio::error::operation_aborted,
                                "the SignalSet was destroyed while this green thread waited on it");
    if (arrival->error)
        throw std::system_error(arrival->error, "waiting for a signal");
    return arrival->number;
}

} // namespace eventlet
