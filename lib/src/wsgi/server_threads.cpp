// wsgi::ServerThreads: a wsgi::server() per member of a ServerGroup, and a
// log that several threads may write.
#include "eventlet/wsgi/server_threads.hpp"

#include <list>
#include <mutex>
#include <ostream>
#include <stdexcept>
#include <utility>

#include "server_group.hpp"
#include "wsgi/line_forwarder.hpp"

namespace eventlet::wsgi {
struct ServerThreads::State {
    State(const Address& address, std::size_t threads, ServerOptions server_options)
        : group(address, threads, eventlet::ServerThreads::max_threads), options(std::move(server_options))
    {
    }

    // One thread's server, on its own listener and hub.
    void serve_member(GreenSocket listener, eventlet::detail::GroupMember& member, const MakeApp& make_app);
    // The log this thread's server writes: the user's with one thread; with
    // several, a stream of the thread's own onto it.
    std::ostream* thread_log();

    eventlet::detail::ServerGroup group;
    const ServerOptions options;
    std::mutex log_mutex; // guards `logs` and every write to options.log
    // Kept with the state rather than with each thread's server: a server
    // that threw may leave connections (which log) behind it for a while.
    std::list<detail::ThreadLog> logs;
};

std::ostream* ServerThreads::State::thread_log()
{
    if (options.log == nullptr || group.size() == 1)
        return options.log;
    const std::lock_guard lock(log_mutex);
    return &logs.emplace_back(*options.log, log_mutex).stream;
}

void ServerThreads::State::serve_member(GreenSocket listener, eventlet::detail::GroupMember& member,
                                        const MakeApp& make_app)
{
    App app = make_app(); // wsgi::server() refuses an empty one
    // Shared, so that the group's control holds it weakly: a stop that
    // reaches this hub after the server is gone finds nothing to close.
    const auto own_listener = std::make_shared<GreenSocket>(std::move(listener));
    const std::weak_ptr<GreenSocket> weak = own_listener;
    // wsgi::server() ends its connections itself, within the grace period,
    // once its listener is closed: closing is the whole of stopping it.
    member.attach({.stop =
                       [weak] {
                           if (const auto alive = weak.lock())
                               alive->close();
                       },
                   .close_clients = nullptr});
    ServerOptions own_options = options;
    own_options.log = thread_log();
    wsgi::server(*own_listener, std::move(app), std::move(own_options));
}

ServerThreads::ServerThreads(const Address& address, std::size_t threads, ServerOptions options)
{
    // Checked before binding: wsgi::server() would refuse them only in each thread.
    if (options.concurrency == 0)
        throw std::invalid_argument("wsgi::ServerThreads needs a concurrency of at least 1");
    if (options.tls && !options.tls->is_server())
        throw std::invalid_argument("an HTTPS wsgi::ServerThreads needs a server Context (a certificate and key)");
    state_ = std::make_shared<State>(address, threads, std::move(options));
}

ServerThreads::~ServerThreads() { state_->group.stop(); }

void ServerThreads::serve(App app)
{
    if (!app)
        throw std::invalid_argument("wsgi::ServerThreads::serve needs an application");
    // Each thread's own copy, made in that thread.
    serve(MakeApp([app = std::move(app)] { return app; }));
}

void ServerThreads::serve(MakeApp make_app)
{
    eventlet::detail::serve_each_member(state_, make_app, "wsgi::ServerThreads::serve needs a make_app");
}

void ServerThreads::stop() noexcept { state_->group.stop(); }

const Address& ServerThreads::address() const noexcept { return state_->group.address(); }

std::size_t ServerThreads::threads() const noexcept { return state_->group.size(); }

bool ServerThreads::stopped() const noexcept { return state_->group.stopped(); }

} // namespace eventlet::wsgi
