/// \file
/// serve(): one green thread per connection, from a pool (Eventlet's
/// `eventlet.serve`), and a Server that can be stopped cleanly.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>

#include "eventlet/address.hpp"
#include "eventlet/seconds.hpp"
#include "eventlet/socket.hpp"
#include "eventlet/tls/context.hpp"

namespace eventlet {

/// Thrown by a handler to stop the server that runs it, as in Eventlet:
/// the server stops accepting, waits for the other handlers, and serve()
/// returns. Not an error: nothing is reported.
class StopServe : public std::exception {
public:
    /// A fixed description, for messages.
    const char* what() const noexcept override { return "StopServe"; }
};

/// What serve() calls for each connection, in a green thread of its own:
/// the accepted socket and the address of the peer. The server owns the
/// socket and closes it when the handler returns; a handler may move it
/// out to keep it (then Server::close_clients() no longer reaches it).
using Handler = std::function<void(GreenSocket& client, const Address& peer)>;

/// A listening socket and the pool of green threads that serve its
/// connections, with a switch to stop it.
///
///     eventlet::Server server(eventlet::listen({"0.0.0.0", 6000}), 10000);
///     server.serve(handle);          // in one green thread: returns after stop()
///     server.stop();                 // in another, or in a handler
///
/// Its state is shared with the handlers, so that a handler still running
/// when the Server is destroyed (see ~Server()) finds it alive.
class Server {
public:
    /// The longest pause of the accept loop when the process is out of
    /// descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM); the pauses
    /// start at 1 ms and double up to this.
    static constexpr double max_backoff = 0.1;

    /// A server on `listener`, a socket that listens already (see listen()),
    /// whose handlers run in a GreenPool of `concurrency` slots: at most
    /// that many connections are served at once; more wait in the kernel's
    /// backlog until a handler ends.
    /// \throws std::invalid_argument if `listener` is not open or
    ///         `concurrency` is 0; SocketError if `listener` has no address.
    explicit Server(GreenSocket listener, std::size_t concurrency = 1000);
    /// A server whose connections speak TLS with `tls`, a server Context:
    /// each starts with the handshake (tls::start_server()), in its own
    /// green thread, before the handler gets the socket. A client that does
    /// not finish it within `handshake_timeout` (one that connects and
    /// sends nothing, say), or fails it, is closed without a report.
    /// \throws as Server(GreenSocket, std::size_t); std::invalid_argument
    ///         for a client Context.
    Server(GreenSocket listener, std::size_t concurrency, const tls::Context& tls,
           Seconds handshake_timeout = Seconds(10));
    /// Stops the server (stop() and close_clients()) if it is still running;
    /// never waits. A serve() still under way in another green thread
    /// returns once its handlers end.
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Accepts connections and calls `handler` for each in a green thread
    /// of the pool (spawn_n), until stop(); then waits for the handlers
    /// still running, and returns. Call it once.
    ///
    /// An exception escaping a handler is reported on stderr with the
    /// peer's address, and the server goes on; StopServe stops it instead.
    /// ConnectionReset and BrokenPipe (the client went away) are not
    /// reported, nor are the errors of a connection that close_clients()
    /// ended. When the process is out of descriptors, accept() is retried
    /// after a pause (reported on stderr at most once a minute) instead of
    /// failing; a handler that ends cuts the pause short.
    ///
    /// Parks the calling green thread until the end.
    /// \throws std::logic_error if called twice; SocketError if the
    ///         listener fails for good (EBADF, EINVAL); whatever is thrown
    ///         into the calling green thread (GreenletExit, TimeoutError).
    ///         When it throws, the server stops and its clients are closed
    ///         first, but their handlers may still be running.
    void serve(Handler handler);

    /// Stops accepting: closes the listener, which wakes the accept loop,
    /// and refuses new connections from then on (those waiting in the
    /// backlog are reset). serve() returns once the handlers running now
    /// end. Callable from any green thread of the hub, a handler included;
    /// calling it again does nothing. Never switches.
    void stop() noexcept;
    /// Ends the connections being served: shuts down both directions of
    /// each, so that a handler waiting on its socket wakes (recv() returns
    /// 0, send() throws BrokenPipe) and can return. It ends connections,
    /// not handlers: one that waits on something else finishes that first.
    /// Never switches.
    void close_clients() noexcept;

    /// Where the server listens (numeric), as it was when it was created.
    const Address& address() const noexcept;
    /// Number of connections being served now.
    std::size_t connections() const noexcept;
    /// True once stop() was called (or serve() ended by an exception).
    bool stopped() const noexcept;

private:
    struct State;
    std::shared_ptr<State> state_;
};

/// Serves `listener` with `handler` in a pool of `concurrency` green
/// threads, until a handler throws StopServe (Eventlet's `eventlet.serve`).
/// The same as `Server(std::move(listener), concurrency).serve(handler)`;
/// use a Server to stop it from outside.
/// \throws as Server::Server() and Server::serve().
void serve(GreenSocket listener, Handler handler, std::size_t concurrency = 1000);

/// serve() over TLS: the same as
/// `Server(std::move(listener), concurrency, tls).serve(handler)`.
/// \throws as Server::Server() and Server::serve().
void serve(GreenSocket listener, Handler handler, std::size_t concurrency, const tls::Context& tls);

} // namespace eventlet
