// Signals through the hub: Asio's signal_set turns a signal into a
// completion on the hub's io_context, which wakes the waiting green thread.
#include "eventlet/signals.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include <asio/signal_set.hpp>

#include "eventlet/hub.hpp"

namespace eventlet {

struct SignalSet::Impl {
    explicit Impl(asio::io_context& io) : set(io) {}
    // Asio installs one process-wide handler per signal, which writes the
    // number to a pipe: async-signal-safe. Everything else happens when
    // the hub reads the pipe, as an ordinary completion.
    asio::signal_set set;
    bool waiting = false;
};

SignalSet::SignalSet(std::initializer_list<int> signals)
    : impl_(std::make_unique<Impl>(Hub::current().io_context()))
{
    for (const int number : signals) {
        std::error_code error;
        impl_->set.add(number, error);
        if (error)
            throw std::system_error(error, "cannot catch signal " + std::to_string(number));
    }
}

SignalSet::~SignalSet() = default;

int SignalSet::wait()
{
    Hub& hub = Hub::current();
    if (&Greenlet::current() == &hub.greenlet())
        throw std::logic_error("cannot wait for a signal inside the hub: a hub callback must not wait");
    if (impl_->waiting)
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
    impl_->waiting = true;
    struct StopWaiting {
        Impl& impl;
        Arrival& arrival;
        ~StopWaiting()
        {
            impl.waiting = false;
            arrival.waiter = nullptr;
            if (!arrival.done)
                impl.set.cancel(); // a signal that comes later is kept for the next wait()
        }
    } stop_waiting{*impl_, *arrival};

    impl_->set.async_wait([arrival, &hub](std::error_code error, int number) {
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
    if (arrival->error)
        throw std::system_error(arrival->error, "waiting for a signal");
    return arrival->number;
}

} // namespace eventlet
