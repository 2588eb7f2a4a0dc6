/// \file
/// wsgi::ServerThreads: wsgi::server() on every core, one hub per OS
/// thread, each with its own listener on the same port.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "eventlet/address.hpp"
#include "eventlet/server_threads.hpp"
#include "eventlet/wsgi/server.hpp"

namespace eventlet::wsgi {

/// A wsgi::server() per OS thread, all on one address, as
/// eventlet::ServerThreads runs a Server per thread: each thread has its
/// own hub, its own listener (SO_REUSEPORT) and its own pool of
/// `options.concurrency` connections, and the kernel spreads the
/// connections over the listeners.
///
///     eventlet::wsgi::ServerThreads servers({"0.0.0.0", 8080}, 0, options); // one per core
///     servers.serve(app);   // returns after stop(), from any thread
///
/// Per thread, as for eventlet::ServerThreads: the hub, the listener, the
/// pool, the timers, the green threads and their sockets; every limit of
/// ServerOptions holds per thread (at most threads() times
/// `options.concurrency` connections in all). Per process: the
/// application's captures, and the log. The application is copied into
/// each thread and runs in all of them at once: what its copies share must
/// be safe to use from several OS threads. The log stream is written from
/// every thread, a whole line at a time under a lock of the server's own:
/// lines never mix. Nothing else may write to that stream from another
/// thread meanwhile, unless it is one of the standard streams (std::cerr,
/// the default), which the standard makes safe for that.
///
/// With one thread, serve() is wsgi::server() on the calling thread, with
/// `options` as they are, and the listener has no SO_REUSEPORT.
class ServerThreads {
public:
    /// Makes one thread's application, in that thread (see serve(MakeApp)).
    using MakeApp = std::function<App()>;

    /// Binds `threads` listeners to `address` (0: one per core, at least
    /// 1), each to be served with `options` (see eventlet::ServerThreads
    /// for port 0). Nothing is served before serve().
    /// \throws std::invalid_argument if `options.concurrency` is 0,
    ///         `options.tls` is a client Context, or `threads` is more than
    ///         eventlet::ServerThreads::max_threads; as listen().
    ServerThreads(const Address& address, std::size_t threads, ServerOptions options = {});
    /// Stops every thread's server (see stop()) if they still run; never
    /// waits. A serve() under way returns once they end.
    ~ServerThreads();
    ServerThreads(const ServerThreads&) = delete;
    ServerThreads& operator=(const ServerThreads&) = delete;

    /// Serves `app` with a wsgi::server() per thread, until stop(): the
    /// calling green thread serves the first listener, and threads() - 1
    /// new OS threads the others. Returns when every thread's server has
    /// returned (after its grace period), and the threads are joined. Call
    /// it once. Parks the calling green thread until then.
    /// \throws std::logic_error if called twice; std::invalid_argument for
    ///         an empty `app`; as eventlet::ServerThreads::serve(): an
    ///         exception that ends one thread's server stops them all and
    ///         is rethrown here.
    void serve(App app);
    /// serve(App), but each thread first calls `make_app` and serves the
    /// application it returns: objects of each hub's own, as
    /// eventlet::ServerThreads::serve(MakeHandler) says (the same rules,
    /// for an application instead of a handler).
    /// \throws as serve(App); std::invalid_argument for an empty
    ///         `make_app`; what `make_app` throws (every thread stops).
    void serve(MakeApp make_app);

    /// Closes every thread's listener, in its own hub, as
    /// eventlet::ServerThreads::stop() stops its servers (from any thread;
    /// never blocks nor switches). Each server then ends as wsgi::server()
    /// does when its listener is closed: idle connections closed, the
    /// requests under way given `options.grace`.
    void stop() noexcept;

    /// Where every listener listens (numeric): the port chosen for port 0.
    const Address& address() const noexcept;
    /// The number of threads (and listeners, and pools).
    std::size_t threads() const noexcept;
    /// True once stop() was called, or a thread's server failed. Callable
    /// from any thread.
    bool stopped() const noexcept;

private:
    struct State;
    std::shared_ptr<State> state_;
};

} // namespace eventlet::wsgi
