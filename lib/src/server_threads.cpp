// ServerThreads: a Server per member of a ServerGroup.
#include "eventlet/server_threads.hpp"

#include <optional>
#include <stdexcept>
#include <utility>

#include "server_group.hpp"

namespace eventlet {

struct ServerThreads::State {
    State(const Address& address, std::size_t threads, std::size_t concurrency)
        : group(address, threads, max_threads), concurrency(concurrency)
    {
    }

    // One thread's server, on its own listener and hub.
    void serve_member(GreenSocket listener, detail::GroupMember& member, const MakeHandler& make_handler);

    detail::ServerGroup group;
    const std::size_t concurrency;
    std::optional<tls::Context> tls;
    Seconds handshake_timeout = 10;
};

void ServerThreads::State::serve_member(GreenSocket listener, detail::GroupMember& member,
                                        const MakeHandler& make_handler)
{
    const Handler handler = make_handler();
    if (!handler)
        throw std::invalid_argument("ServerThreads: make_handler() returned an empty handler");
    // Shared, so that the group's controls hold it weakly: a stop that
    // reaches this hub after the server is gone finds nothing to stop.
    const auto server = tls ? std::make_shared<Server>(std::move(listener), concurrency, *tls, handshake_timeout)
                            : std::make_shared<Server>(std::move(listener), concurrency);
    const std::weak_ptr<Server> weak = server;
    member.attach({.stop =
                       [weak] {
                           if (const auto alive = weak.lock())
                               alive->stop();
                       },
                   .close_clients =
                       [weak] {
                           if (const auto alive = weak.lock())
                               alive->close_clients();
                       }});
    // StopServe stops this server (the Server catches it) and, through the
    // group, all the others.
    server->serve([handler, &group = group](GreenSocket& client, const Address& peer) {
        try {
            handler(client, peer);
        } catch (const StopServe&) {
            group.stop();
            throw;
        }
    });
}

ServerThreads::ServerThreads(const Address& address, std::size_t threads, std::size_t concurrency)
{
    // Checked before binding: a Server would refuse it only in each thread.
    if (concurrency == 0)
        throw std::invalid_argument("a server needs a concurrency of at least 1");
    state_ = std::make_shared<State>(address, threads, concurrency);
}

ServerThreads::ServerThreads(const Address& address, std::size_t threads, std::size_t concurrency,
                             const tls::Context& tls, Seconds handshake_timeout)
{
    if (!tls.is_server())
        throw std::invalid_argument("a TLS server needs a server Context (a certificate and key)");
    if (concurrency == 0)
        throw std::invalid_argument("a server needs a concurrency of at least 1");
    state_ = std::make_shared<State>(address, threads, concurrency);
    state_->tls = tls;
    state_->handshake_timeout = handshake_timeout;
}

ServerThreads::~ServerThreads()
{
    state_->group.stop();
    state_->group.close_clients();
}

void ServerThreads::serve(Handler handler)
{
    if (!handler)
        throw std::invalid_argument("serve() needs a handler");
    // Each thread's own copy, made in that thread.
    serve(MakeHandler([handler = std::move(handler)] { return handler; }));
}

void ServerThreads::serve(MakeHandler make_handler)
{
    detail::serve_each_member(state_, make_handler, "serve() needs a make_handler");
}

void ServerThreads::stop() noexcept { state_->group.stop(); }

void ServerThreads::close_clients() noexcept { state_->group.close_clients(); }

const Address& ServerThreads::address() const noexcept { return state_->group.address(); }

std::size_t ServerThreads::threads() const noexcept { return state_->group.size(); }

bool ServerThreads::stopped() const noexcept { return state_->group.stopped(); }

} // namespace eventlet
