// serve(): an accept loop that spawns a handler per connection into a pool,
// and the ways to stop it.
#include "eventlet/serve.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <iostream>
#include <list>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "eventlet/detail/wait_queue.hpp"
#include "eventlet/greenpool.hpp"
#include "eventlet/timeout.hpp"
#include "eventlet/tls.hpp"
#include "report.hpp"

namespace eventlet {

namespace {

// accept() failed because the process or the system ran out of something
// that comes back when connections close: pausing is the only cure.
bool out_of_resources(int error)
{
    return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

// Linux hands a connection's pending network error to accept() itself (see
// accept(2), "Error handling"): the connection is gone, the listener is fine.
bool connection_failed(int error)
{
    switch (error) {
    case ENETDOWN:
    case EPROTO:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case EPERM: // a firewall rule refused it
        return true;
    default:
        return false;
    }
}

// True if the exception being handled is how a connection ends rather than
// a fault of its handler: the client went away, or close_clients() ended it.
bool is_end_of_connection(bool closed_by_server)
{
    try {
        throw;
    } catch (const ConnectionReset&) {
        return true;
    } catch (const BrokenPipe&) {
        return true;
    } catch (const tls::Truncated&) {
        return true; // a TLS client gone without close_notify: gone all the same
    } catch (const SocketError&) {
        return closed_by_server;
    } catch (const IOClosed&) {
        return closed_by_server;
    } catch (...) {
        return false;
    }
}

} // namespace

struct Server::State : std::enable_shared_from_this<State> {
    // One connection being served. The server owns its socket, so that
    // close_clients() can reach it while the handler uses it.
    struct Connection {
        GreenSocket socket;
        Address peer;
        bool closed_by_server = false;
    };
    using Connections = std::list<Connection>;

    // A connection's place in the list, handed to the green thread that
    // serves it. However that green thread ends (or if it never starts),
    // its destructor takes the connection out, which closes the socket,
    // and tells the accept loop that a slot and a descriptor are free.
    class Registration {
    public:
        Registration(std::shared_ptr<State> state, Accepted accepted)
            : state_(std::move(state)),
              entry_(state_->connections.insert(
                  state_->connections.end(),
                  Connection{std::move(accepted.socket), std::move(accepted.peer)}))
        {
        }
        Registration(Registration&& other) noexcept
            : state_(std::move(other.state_)), entry_(other.entry_)
        {
        }
        Registration(const Registration&) = delete;
        Registration& operator=(const Registration&) = delete;
        ~Registration()
        {
            if (!state_)
                return;
            state_->connections.erase(entry_);
            state_->wake_acceptor();
        }
        State& state() const noexcept { return *state_; }
        Connection& connection() const noexcept { return *entry_; }

    private:
        std::shared_ptr<State> state_;
        Connections::iterator entry_;
    };

    State(GreenSocket listening, std::size_t concurrency)
        : listener(std::move(listening)), address(listener.local_address()), pool(concurrency)
    {
    }

    bool handshake(Connection& connection);
    void accept_loop();
    std::optional<Accepted> accept_one();
    void pause_accepting(const SocketError& error);
    static void serve_connection(Registration registration);
    void stop() noexcept;
    void close_clients() noexcept;
    void wake_acceptor() noexcept;

    GreenSocket listener;
    const Address address;
    GreenPool pool;
    Handler handler;
    std::optional<tls::Context> tls;
    Seconds handshake_timeout = 10;
    Connections connections;
    // Where the accept loop waits when it cannot accept: the pool is
    // full, or accept() is pausing. stop() and every ended connection wake it.
    detail::WaitQueue acceptor;
    Seconds backoff = first_backoff;
    // When a pause was last reported, and how many came since unreported:
    // while clients come and go at the limit, every other accept() fails.
    std::optional<std::chrono::steady_clock::time_point> last_pause_report;
    std::size_t unreported_pauses = 0;
    bool serving = false;
    bool stopping = false;

    static constexpr double first_backoff = 0.001;
};

void Server::State::accept_loop()
{
    while (!stopping) {
        // Full: leave the next connections in the kernel's backlog rather
        // than accept them with nobody free to serve them.
        if (pool.free() == 0) {
            acceptor.park();
            continue;
        }
        std::optional<Accepted> accepted = accept_one();
        if (!accepted)
            continue;
        // The slot is free, so spawn_n does not park.
        pool.spawn_n(&State::serve_connection, Registration(shared_from_this(), std::move(*accepted)));
    }
}

std::optional<Accepted> Server::State::accept_one()
{
    try {
        Accepted accepted = listener.accept();
        backoff = first_backoff;
        return accepted;
    } catch (const IOClosed&) {
        return std::nullopt; // stop() closed the listener under the waiting accept()
    } catch (const SocketError& e) {
        if (stopping) // closed before accept() got to wait
            return std::nullopt;
        if (out_of_resources(e.code().value())) {
            pause_accepting(e);
            return std::nullopt;
        }
        if (connection_failed(e.code().value()))
            return std::nullopt;
        throw; // the listener itself is broken (EBADF, EINVAL): retrying cannot help
    }
}

// The connection that failed to be accepted is still in the backlog, so the
// listener stays readable: without a pause, the loop would call accept()
// again at once, fail again, and spin at 100% CPU until a descriptor frees.
void Server::State::pause_accepting(const SocketError& error)
{
    // At most once a minute. Not report_current_exception(): nothing
    // escaped, and the server goes on; the error's text says all there is.
    const auto now = std::chrono::steady_clock::now();
    if (last_pause_report && now - *last_pause_report < std::chrono::minutes(1)) {
        ++unreported_pauses;
    } else {
        std::cerr << "eventlet: serve() on " << address.to_string() << " cannot accept a connection ("
                  << error.what() << "); it pauses and retries";
        if (unreported_pauses > 0)
            std::cerr << " (also " << unreported_pauses << " times since the last report)";
        std::cerr << '\n';
        last_pause_report = now;
        unreported_pauses = 0;
    }
    acceptor.park(backoff);
    backoff = std::min(backoff.count() * 2, max_backoff);
}

// A client that fails the handshake (it speaks no TLS, or refuses the
// certificate) or never finishes it is no fault of the handler's: its
// connection just ends. \returns false then.
bool Server::State::handshake(Connection& connection)
{
    Timeout limit(handshake_timeout);
    try {
        tls::start_server(connection.socket, *tls);
        return true;
    } catch (const TimeoutError&) {
        if (!limit.expired())
            throw;
    } catch (const SocketError&) {
    } catch (const IOClosed&) { // close_clients() ended it
    }
    return false;
}

void Server::State::serve_connection(Registration registration)
{
    State& state = registration.state();
    Connection& connection = registration.connection();
    try {
        if (state.tls && !state.handshake(connection))
            return;
        state.handler(connection.socket, connection.peer);
    } catch (const StopServe&) {
        state.stop();
    } catch (const GreenletExit&) {
        throw; // killed: the green thread's ordinary end
    } catch (...) {
        if (!is_end_of_connection(connection.closed_by_server))
            detail::report_current_exception("a serve() handler for " + connection.peer.to_string());
    }
}

void Server::State::stop() noexcept
{
    if (stopping)
        return;
    stopping = true;
    // Wakes an accept() waiting on it with IOClosed; the kernel resets the
    // connections still in the backlog, and refuses new ones.
    listener.close();
    wake_acceptor();
}

void Server::State::close_clients() noexcept
{
    for (Connection& connection : connections) {
        if (!connection.socket.is_open() || connection.closed_by_server)
            continue;
        connection.closed_by_server = true;
        try {
            connection.socket.shutdown(Shutdown::both);
        } catch (const SocketError&) {
            // ENOTCONN: the client had already gone; nothing left to end.
        }
    }
}

void Server::State::wake_acceptor() noexcept
{
    try {
        acceptor.notify_all();
    } catch (...) {
        detail::report_current_exception("serve() waking its accept loop");
    }
}

Server::Server(GreenSocket listener, std::size_t concurrency)
{
    if (!listener.is_open())
        throw std::invalid_argument("a server needs an open, listening socket");
    if (concurrency == 0)
        throw std::invalid_argument("a server needs a concurrency of at least 1");
    state_ = std::make_shared<State>(std::move(listener), concurrency);
}

Server::Server(GreenSocket listener, std::size_t concurrency, const tls::Context& tls, Seconds handshake_timeout)
    : Server(std::move(listener), concurrency)
{
    if (!tls.is_server())
        throw std::invalid_argument("a TLS server needs a server Context (a certificate and key)");
    state_->tls = tls;
    state_->handshake_timeout = handshake_timeout;
}

Server::~Server()
{
    state_->stop();
    state_->close_clients();
}

void Server::serve(Handler handler)
{
    if (!handler)
        throw std::invalid_argument("serve() needs a handler");
    // Held here: the Server may be destroyed while this call waits.
    const std::shared_ptr<State> state = state_;
    if (state->serving)
        throw std::logic_error("serve() was already called on this server");
    state->serving = true;
    state->handler = std::move(handler);
    try {
        state->accept_loop();
        state->pool.waitall();
    } catch (...) {
        state->stop();
        state->close_clients();
        throw;
    }
}

void Server::stop() noexcept { state_->stop(); }

void Server::close_clients() noexcept { state_->close_clients(); }

const Address& Server::address() const noexcept { return state_->address; }

std::size_t Server::connections() const noexcept { return state_->connections.size(); }

bool Server::stopped() const noexcept { return state_->stopping; }

void serve(GreenSocket listener, Handler handler, std::size_t concurrency)
{
    Server(std::move(listener), concurrency).serve(std::move(handler));
}

void serve(GreenSocket listener, Handler handler, std::size_t concurrency, const tls::Context& tls)
{
    Server(std::move(listener), concurrency, tls).serve(std::move(handler));
}

} // namespace eventlet
