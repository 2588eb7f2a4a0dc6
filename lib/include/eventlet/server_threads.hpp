/// \file
/// ServerThreads: serve() on every core, one hub per OS thread, each with
/// its own listener on the same port.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "eventlet/address.hpp"
#include "eventlet/seconds.hpp"
#include "eventlet/serve.hpp"
#include "eventlet/tls/context.hpp"

namespace eventlet {

/// A Server per OS thread, all on one address: N threads, each with its
/// own hub, its own listener and its own pool, and the kernel spreads the
/// connections over the listeners (SO_REUSEPORT, see ListenOptions).
///
///     eventlet::ServerThreads servers({"0.0.0.0", 6000}, 0, 10000); // one per core
///     servers.serve(handle);   // returns after stop(), from any thread
///
/// A hub belongs to one OS thread, and so does everything that waits on
/// it. Each thread therefore has its own: hub, listener, GreenPool of
/// `concurrency` slots, timers, green threads and the sockets they use
/// (a connection is served, from accept() to close, by the thread that
/// accepted it). What the process has once is shared by all threads: the
/// handler's captures, the descriptor limit, memory, std::cerr. A green
/// Semaphore, Event or GreenPool belongs to one hub and cannot be shared;
/// a limit for the whole process needs a primitive made for threads.
///
/// The handler is copied into each thread and runs in all of them at once:
/// whatever its copies share (a counter, a cache, a reference to an
/// object) must be safe to use from several OS threads (std::atomic, a
/// std::mutex held without parking in between).
///
/// With one thread, nothing is shared and no thread is started: serve()
/// is Server::serve() on the calling thread, and the listener has no
/// SO_REUSEPORT (a port already taken fails with EADDRINUSE). With
/// several, a port already served by another SO_REUSEPORT listener of
/// the same user is shared with it, not refused.
class ServerThreads {
public:
    /// Makes one thread's handler, in that thread (see serve(MakeHandler)).
    using MakeHandler = std::function<Handler()>;

    /// The most threads a group may have: more hubs than any machine's
    /// cores, each with its OS thread, its listener and its epoll set, is
    /// a mistake (a count mistyped), not a configuration.
    static constexpr std::size_t max_threads = 1024;

    /// Binds `threads` listeners to `address` (0: one per core, as
    /// std::thread::hardware_concurrency() counts them, at least 1), whose
    /// handlers run, per thread, in a GreenPool of `concurrency` slots.
    /// Port 0 is chosen once, by the first listener; the others bind the
    /// port it got (see address()). Nothing is served before serve().
    /// \throws std::invalid_argument if `concurrency` is 0 or `threads` is
    ///         more than max_threads; as listen() (SocketError, AddressError,
    ///         ResolveError).
    ServerThreads(const Address& address, std::size_t threads, std::size_t concurrency = 1000);
    /// Servers whose connections speak TLS with `tls`, a server Context,
    /// shared by every thread (see Server's TLS constructor).
    /// \throws as ServerThreads(const Address&, std::size_t, std::size_t);
    ///         std::invalid_argument for a client Context.
    ServerThreads(const Address& address, std::size_t threads, std::size_t concurrency,
                  const tls::Context& tls, Seconds handshake_timeout = Seconds(10));
    /// Stops every thread's server (stop() and close_clients()) if they
    /// still run; never waits. A serve() under way returns once they end.
    ~ServerThreads();
    ServerThreads(const ServerThreads&) = delete;
    ServerThreads& operator=(const ServerThreads&) = delete;

    /// Runs a Server per thread, each calling its copy of `handler` for each
    /// connection of its listener, until stop(): the calling green thread
    /// serves the first listener, and threads() - 1 new OS threads serve
    /// the others. Returns when every thread's server has returned, and the
    /// threads are joined. Call it once.
    ///
    /// A handler that throws StopServe stops every thread, as stop() does.
    /// An exception that ends one thread's server (its listener failing for
    /// good) stops every thread and ends their clients, and is rethrown
    /// here once they have all returned. Handlers' own exceptions are
    /// reported on stderr as Server::serve() reports them.
    ///
    /// Parks the calling green thread until the end: its hub goes on
    /// running the other green threads of its OS thread meanwhile.
    /// \throws std::logic_error if called twice; std::invalid_argument for
    ///         an empty handler; std::system_error if an OS thread cannot
    ///         be started; what ended a thread's server; whatever is thrown
    ///         into the calling green thread. On any of these but the first
    ///         two, every thread is stopped and its clients closed, and the
    ///         other OS threads are joined without parking (blocking this
    ///         one) before the exception leaves.
    void serve(Handler handler);
    /// serve(Handler), but each thread first calls `make_handler`, once, in
    /// that thread, and serves with the handler it returns: the way to give
    /// each hub objects of its own, green ones above all (a GreenPool, an
    /// http::Session), which no other thread may touch. `make_handler`
    /// itself runs in every thread at once.
    /// \throws as serve(Handler); std::invalid_argument for an empty
    ///         `make_handler`. What `make_handler` throws, or an empty
    ///         handler it returns, ends that thread's server as a failure
    ///         does: every thread stops, and serve() rethrows it.
    void serve(MakeHandler make_handler);

    /// Stops accepting in every thread (Server::stop()): serve() returns
    /// once the handlers running now end. Callable from any OS thread and
    /// any green thread: a green thread handling a signal (SignalSet), a
    /// handler, another program thread. Not from a POSIX signal handler
    /// (sigaction): the lock it takes is not async-signal-safe, and the
    /// thread the signal interrupted may hold it. The server of the calling thread's own hub (if it is one of
    /// them) stops at once, as with Server::stop(); each other one at its
    /// hub's next turn, so its listener may take a connection or two after
    /// stop() returns. A thread that has not started yet never serves.
    /// Calling it again does nothing. Never blocks (beyond a short lock)
    /// and never switches.
    void stop() noexcept;
    /// Ends the connections being served in every thread
    /// (Server::close_clients()): at once in the calling thread's own hub,
    /// at their hubs' next turn in the others. Callable from any thread, as
    /// stop() is (not from a POSIX signal handler). Never switches.
    void close_clients() noexcept;

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

} // namespace eventlet
