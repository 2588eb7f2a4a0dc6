// wsgi::server: an accept loop spawning one green thread per connection
// into a bounded pool, each answering its client's requests in order.
#include "eventlet/wsgi/server.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "eventlet/detail/wait_queue.hpp"
#include "eventlet/errors.hpp"
#include "eventlet/event.hpp"
#include "eventlet/greenlet.hpp"
#include "eventlet/greenpool.hpp"
#include "eventlet/greenthread.hpp"
#include "eventlet/hub.hpp"
#include "eventlet/timeout.hpp"
#include "eventlet/tls.hpp"
#include "thread_state.hpp"
#include "wsgi/connection.hpp"

namespace eventlet::wsgi {
namespace {

/// What the server and its connections' green threads share. Held by a
/// shared_ptr: a connection may outlive a server() that was killed.
struct ServerState {
    ServerState(App app, ServerOptions options) : app(std::move(app)), options(std::move(options)) {}

    App app;
    ServerOptions options;
    bool stopping = false;
    /// The sockets of the connections waiting for their next request (a
    /// fresh one, or a keep-alive one between requests), oldest first:
    /// closed when the server stops, or when it needs their slots.
    std::list<GreenSocket*> idle;
    /// The green threads of the connections, to end those left at the end
    /// of the grace period.
    std::list<GreenThread<void>> connections;
    /// Where the accept loop waits for a slot: a connection that ends or
    /// becomes idle wakes it.
    eventlet::detail::WaitQueue room;
    /// When accept() last failed for want of descriptors and said so in the
    /// log, and how often it failed since without saying so: at full speed
    /// the failures would fill the log.
    std::optional<std::chrono::steady_clock::time_point> last_accept_report;
    std::size_t unreported_accept_failures = 0;
};

/// Marks a connection idle while it waits for a request. The connection's
/// entry (a list of its one socket, made once per connection) moves into
/// the server's list and back out: a node made and freed on every request
/// would cost an allocation each.
class IdleMark {
public:
    IdleMark(ServerState& server, std::list<GreenSocket*>& entry)
        : server_(&server), home_(&entry), entry_(entry.begin())
    {
        server.idle.splice(server.idle.end(), entry, entry_);
        server.room.notify_all();
    }
    ~IdleMark() { home_->splice(home_->end(), server_->idle, entry_); }
    IdleMark(const IdleMark&) = delete;
    IdleMark& operator=(const IdleMark&) = delete;

private:
    ServerState* server_;
    std::list<GreenSocket*>* home_;
    std::list<GreenSocket*>::iterator entry_;
};

// Eventlet's access log format:
// 127.0.0.1 - - [12/Mar/2024 10:01:02] "GET / HTTP/1.1" 200 13 0.000211
void log_access(const ServerOptions& options, const Address& peer, const Request& request, int status,
                std::size_t body_bytes, std::chrono::steady_clock::time_point started)
{
    if (options.log == nullptr)
        return;
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    ::localtime_r(&now, &local);
    char date[32];
    std::strftime(date, sizeof date, "%d/%b/%Y %H:%M:%S", &local);
    const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - started;
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.6f", wall.count());
    *options.log << peer.host() << " - - [" << date << "] \"" << request.request_line() << "\" "
                 << (status == 0 ? std::string("-") : std::to_string(status)) << ' ' << body_bytes
                 << ' ' << seconds << '\n';
}

void log_error(const ServerOptions& options, const Request& request, const std::string& what)
{
    if (options.log != nullptr)
        *options.log << "error in the application answering \"" << request.request_line() << "\": " << what
                     << '\n';
}

// What an exception says, whatever its type; GreenletExit, a request to
// end, goes on unwinding.
std::string describe(std::exception_ptr error)
{
    try {
        std::rethrow_exception(std::move(error));
    } catch (const GreenletExit&) {
        throw;
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "an exception of unknown type";
    }
}

// Shuts the sending side, then reads and drops what the client still sends
// for a while: a close with unread bytes would send a reset, which may
// reach the client before it read our response, and destroy it there. Not
// noexcept: a connection killed at the end of the grace period may be here,
// and its GreenletExit must go through.
void linger(GreenSocket& socket, Seconds limit)
{
    try {
        socket.shutdown(Shutdown::write);
        Timeout until(limit);
        char sink[4096];
        while (socket.recv(std::span<char>(sink)) > 0) {
        }
    } catch (const TimeoutError&) {
    } catch (const SocketError&) {
    } catch (const IOClosed&) {
    }
}

/// Answers with `error`'s status, and its message as the body.
void send_error(const HttpError& error, StartResponse& response)
{
    response(std::to_string(error.status()) + ' ' + std::string(reason_phrase(error.status())),
             {{"Content-Type", "text/plain; charset=utf-8"}, {"Connection", "close"}});
    Body body(std::string(error.what()) + '\n');
    response.send(body);
}

/// The reads of a request's body, which the application may make from
/// another green thread than the one answering it (it handed the request
/// over): the exchange must not end while one of them is under way, as the
/// read reaches into the exchange's frame.
struct BodyReads {
    /// Lists the calling green thread while its read is under way.
    class Ongoing {
    public:
        explicit Ongoing(BodyReads& reads) : reads_(reads), reader_(&Greenlet::current())
        {
            reads_.readers.push_back(reader_);
        }
        ~Ongoing()
        {
            reads_.readers.erase(std::find(reads_.readers.begin(), reads_.readers.end(), reader_));
            if (reads_.readers.empty() && !reads_.open)
                reads_.none_left.send();
        }
        Ongoing(const Ongoing&) = delete;
        Ongoing& operator=(const Ongoing&) = delete;

    private:
        BodyReads& reads_;
        Greenlet* reader_;
    };

    static constexpr const char* cut_short =
        "the request was answered while another green thread still read its body: the rest of the body is lost";

    bool open = true; // false once the exchange is over: a read throws
    std::vector<Greenlet*> readers; // the green threads whose read is under way
    Event<void> none_left; // sent when the last read under way ends, once closed
};

/// One request-response exchange on a connection.
class Exchange {
public:
    Exchange(ServerState& server, GreenSocket& socket, std::list<GreenSocket*>& idle_entry,
             detail::Connection& connection, const Address& peer)
        : server_(server), options_(server.options), socket_(socket), idle_entry_(idle_entry),
          connection_(connection), peer_(peer)
    {
    }

    /// Serves the next request. \returns true if the connection may carry
    /// another one.
    bool run()
    {
        if (!wait_for_request())
            return false;
        // For the log line only: a clock reading is a few percent of a
        // small exchange's time in user space.
        if (options_.log != nullptr)
            started_ = std::chrono::steady_clock::now();
        // A head under way is not idle: the idle limit ends here, and
        // header_timeout takes over (the socket timeout if it is off).
        connection_.set_wait_limit(options_.header_timeout ? std::nullopt : options_.socket_timeout);
        Request* request = nullptr;
        std::optional<HttpError> refusal;
        {
            // The whole head, however it is cut, within one limit: a client
            // sending a byte at a time (slowloris) meets it all the same. A
            // head received whole already (most are) needs no limit, and
            // is spared the cost of its timer.
            std::optional<Timeout> header_limit;
            try {
                if (!connection_.head_buffered())
                    header_limit.emplace(options_.header_timeout);
                request = connection_.read_head();
            } catch (const HttpError& error) {
                refusal = error;
            } catch (const TimeoutError&) {
                if (!header_limit || !header_limit->expired())
                    throw;
                refusal.emplace(408, "the request head took too long to arrive");
            }
        }
        if (refusal)
            return refuse(connection_.partial_request(), *refusal);
        if (!request)
            return false;
        return answer(*request);
    }

private:
    bool wait_for_request()
    {
        if (server_.stopping)
            return false;
        IdleMark idle(server_, idle_entry_);
        connection_.set_wait_limit(options_.idle_timeout);
        try {
            return connection_.wait_for_request();
        } catch (const HttpError&) {
            return false; // the idle limit: closed without a word, as nginx does
        }
    }

    bool answer(Request& request)
    {
        connection_.set_wait_limit(options_.socket_timeout);
        if (const auto expect = request.headers.get("Expect"); expect && !iequals(*expect, "100-continue"))
            return refuse(request, HttpError(417, "cannot meet the expectation '" + *expect + "'"));

        // (Any expectation left is 100-continue, which HTTP/1.0 does not know.)
        bool continue_due = request.version == "HTTP/1.1" && request.headers.contains("Expect");
        const auto [path, query] = split_target(request.target);
        request.path = path;
        request.query = query;
        request.peer = peer_;
        StartResponse response(socket_, request);
        response.limit_sending(options_.send_timeout, options_.send_min_rate);
        // A client still waiting for its 100 Continue when the answer goes
        // out may or may not send the body after it: only a close makes
        // the next request unambiguous.
        const bool keep_alive_allowed = options_.keepalive && !server_.stopping;
        response.allow_keep_alive(keep_alive_allowed && !continue_due);
        // The application may keep a copy of the request, its body's reader
        // with it, past the exchange; that reader must then fail, not reach
        // into this frame.
        const std::shared_ptr<BodyReads> reads = body_reads();
        const struct CloseOnExit {
            BodyReads& reads;
            ~CloseOnExit() { reads.open = false; }
        } close_on_exit{*reads};
        request.input = Input([this, &continue_due, &response, keep_alive_allowed,
                               reads](std::span<char> out) -> std::size_t {
            if (!reads->open)
                throw std::logic_error("a request's body can only be read while the application answers it");
            const BodyReads::Ongoing ongoing(*reads);
            try {
                // The client waits for this before sending the body: only now
                // does it know that the application wants it (Eventlet's way).
                if (continue_due) {
                    continue_due = false;
                    if (!response.headers_sent()) {
                        connection_.send_continue();
                        response.allow_keep_alive(keep_alive_allowed);
                    }
                }
                return connection_.read_body(out);
            } catch (...) {
                if (!reads->open)
                    throw std::logic_error(BodyReads::cut_short);
                throw;
            }
        });

        std::exception_ptr failure;
        try {
            Body body = server_.app(request, response);
            response.send(body);
        } catch (...) {
            failure = std::current_exception();
        }
        const bool read_cut = end_body_reads(reads, failure);
        try {
            if (failure)
                std::rethrow_exception(failure);
            // An application that caught the error of a failed write and
            // returned: the client still waits for the rest of that body.
            // Or a read of the request's body was cut: the next request
            // would start somewhere in it.
            if (gone(response) || read_cut)
                return done(request, response, false);
        } catch (const HttpError& error) {
            if (gone(response))
                return done(request, response, false);
            return refuse(request, error, &response);
        } catch (...) {
            const std::string what = describe(std::current_exception()); // GreenletExit goes on
            if (gone(response))
                return done(request, response, false);
            log_error(options_, request, what);
            return refuse(request, HttpError(500, "internal server error"), &response);
        }
        return done(request, response, response.keep_alive() && !server_.stopping);
    }

    /// The BodyReads of the next request: the connection's own again, unless
    /// a copy of an earlier request that the application kept still holds
    /// it (that copy's reads must go on failing), or a read of its body never
    /// ended. One per request would cost an allocation each.
    std::shared_ptr<BodyReads> body_reads()
    {
        if (!reads_ || reads_.use_count() > 1 || !reads_->readers.empty() || reads_->none_left.ready())
            reads_ = std::make_shared<BodyReads>();
        reads_->open = true;
        return reads_;
    }

    // True if the connection failed under the exchange: nothing can be sent.
    bool gone(const StartResponse& response) const { return response.broken() || connection_.broken(); }

    /// Ends the reads of the request's body: a later one throws
    /// std::logic_error. One under way in another green thread, parked on
    /// the socket, is interrupted with that error at the hub's next turn, as
    /// a Timeout would interrupt it (the socket stays as it is: the server
    /// still lingers on it before closing), and has ended when this returns.
    /// An exception thrown into this green thread meanwhile (a kill) does
    /// not cut the wait short: it replaces `failure`, to be thrown once the
    /// reads are over.
    /// \returns true if a read was under way: the connection cannot go on.
    bool end_body_reads(const std::shared_ptr<BodyReads>& reads, std::exception_ptr& failure)
    {
        reads->open = false;
        if (reads->readers.empty())
            return false;
        Hub::current().schedule_call(Seconds(0), [reads] {
            // Each one still reading; one parked in a destructor while it
            // unwinds is on its way out already (a second exception there
            // would end the process). An HttpError, which the connection
            // lets through as it does its own limits', as the socket is
            // fine; the read turns it into std::logic_error.
            for (Greenlet* reader : std::vector<Greenlet*>(reads->readers)) {
                if (std::find(reads->readers.begin(), reads->readers.end(), reader) != reads->readers.end() &&
                    !eventlet::detail::GreenletInternals::suspended_unwinding(*reader))
                    reader->throw_in(std::make_exception_ptr(HttpError(500, BodyReads::cut_short)));
            }
        });
        while (!reads->readers.empty()) {
            try {
                reads->none_left.wait();
            } catch (const Deadlock&) {
                // Nothing can ever run the reader again: it never returns into this frame.
                break;
            } catch (...) {
                failure = std::current_exception();
            }
        }
        return true;
    }

    /// Logs the exchange; reads the rest of the body if the connection
    /// goes on. \returns whether it goes on.
    bool done(const Request& request, const StartResponse& response, bool reusable)
    {
        log_access(options_, peer_, request, response.status_code(), response.body_bytes(),
                   started_);
        if (reusable && connection_.body_pending()) {
            try {
                connection_.skip_body();
            } catch (const HttpError&) {
                reusable = false;
            }
        }
        if (!reusable && (connection_.has_unparsed() || connection_.body_pending()))
            linger(socket_, options_.linger_timeout);
        if (reusable)
            connection_.next();
        return reusable;
    }

    /// Answers with `error`'s status unless `begun` (the response that
    /// failed) already sent bytes, and ends the connection. (A head that
    /// is final but still held back for the body is dropped: the client
    /// gets the error, not a head with nothing after it.)
    bool refuse(const Request& request, const HttpError& error, const StartResponse* begun = nullptr)
    {
        if (begun != nullptr && begun->committed()) {
            log_access(options_, peer_, request, begun->status_code(), begun->body_bytes(),
                       started_);
        } else {
            StartResponse response(socket_, request);
            response.limit_sending(options_.send_timeout, options_.send_min_rate);
            try {
                send_error(error, response);
            } catch (const SocketError&) {
            } catch (const TimeoutError&) {
            } catch (const IOClosed&) {
            }
            log_access(options_, peer_, request, response.status_code(), response.body_bytes(),
                       started_);
        }
        linger(socket_, options_.linger_timeout);
        return false;
    }

    ServerState& server_;
    const ServerOptions& options_;
    GreenSocket& socket_;
    std::list<GreenSocket*>& idle_entry_;
    detail::Connection& connection_;
    const Address& peer_;
    std::chrono::steady_clock::time_point started_; // set only if there is a log
    std::shared_ptr<BodyReads> reads_;
};

// The TLS handshake of an HTTPS connection. It is the first thing the
// client sends, so it is bounded as a head is (header_timeout: a client that
// starts it and never ends it would hold its slot, as a slowloris does), and
// the connection is idle meanwhile: its slot may be reclaimed. A client that
// fails it (it speaks no TLS, or refuses the certificate) is not the
// application's error. \returns false if it did not end well.
bool handshake(ServerState& server, GreenSocket& socket, std::list<GreenSocket*>& idle_entry)
{
    IdleMark idle(server, idle_entry);
    Timeout limit(server.options.header_timeout);
    try {
        tls::start_server(socket, *server.options.tls);
        return true;
    } catch (const TimeoutError&) {
        if (!limit.expired())
            throw;
        return false;
    }
}

void serve_connection(const std::shared_ptr<ServerState>& server, GreenSocket socket, const Address& peer,
                      std::list<GreenThread<void>>::iterator entry)
{
    // However the connection ends, it leaves the list, and its slot (free
    // at the next turn, when the wake-up arrives) may go to a new client.
    struct Leave {
        ServerState& server;
        std::list<GreenThread<void>>::iterator entry;
        ~Leave()
        {
            server.connections.erase(entry);
            server.room.notify_all();
        }
    } leave{*server, entry};
    // The socket's own timeout bounds each wait to send (a client that does
    // not read); the connection bounds its waits to receive itself.
    socket.set_timeout(server->options.socket_timeout);
    // A streamed body goes out piece by piece, its last chunk a few bytes:
    // with Nagle's algorithm, each small send after the first waits for
    // the client's delayed ACK. Every response is written whole or as
    // pieces the application chose, so there is nothing to gain from it.
    try {
        socket.set_nodelay(true);
    } catch (const SocketError&) { // the client is already gone: the exchange will see it
    }
    std::list<GreenSocket*> idle_entry{&socket}; // see IdleMark
    try {
        if (server->options.tls && !handshake(*server, socket, idle_entry))
            return;
        detail::Connection connection(socket, server->options);
        Exchange exchange(*server, socket, idle_entry, connection, peer);
        while (exchange.run()) {
        }
    } catch (const SocketError&) { // the client went away: nothing to tell it
    } catch (const IOClosed&) {    // the server stopped while it was idle, or needed its slot
    } catch (const TimeoutError&) {
    }
}

bool out_of_descriptors(const SocketError& error)
{
    const int code = error.code().value();
    return code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM;
}

/// Closes the connection idle longest, if any (its green thread then ends,
/// and gives back its slot and its descriptor), one at a time: while one
/// closed already has yet to end, another close would gain nothing yet.
void close_idle_longest(ServerState& server)
{
    const auto open = [](const GreenSocket* socket) { return socket->is_open(); };
    if (!server.idle.empty() && std::ranges::all_of(server.idle, open))
        server.idle.front()->close(); // wakes its recv with IOClosed; the connection ends
}

/// Parks until the pool has a free slot for a new connection. While it is
/// full, the idle connections make room, oldest first, as nginx reclaims
/// its "reusable" ones: a client that sent nothing, or nothing since its
/// last response, loses less by a close than a new client by a wait (and
/// a keep-alive client must expect the close anyway). \returns false if
/// the listener closed meanwhile.
bool make_room(ServerState& server, GreenPool& pool, const GreenSocket& listener)
{
    while (pool.free() == 0) {
        if (!listener.is_open())
            return false;
        close_idle_longest(server);
        // Another green thread closes the listener, and cannot wake us:
        // look again now and then.
        server.room.park(Seconds(0.1));
    }
    return true;
}

/// accept() failed for want of descriptors (or memory): the slots are not
/// the limit, the process's descriptors are. An idle connection gives one
/// back as it gives a slot in make_room(), for the same reasons; then the
/// loop waits for a connection to end. Said in the log at most once a
/// minute, with the count of the failures in between.
void wait_for_a_descriptor(ServerState& server, const SocketError& error)
{
    const auto now = std::chrono::steady_clock::now();
    if (server.last_accept_report && now - *server.last_accept_report < std::chrono::minutes(1)) {
        ++server.unreported_accept_failures;
    } else {
        if (server.options.log != nullptr) {
            *server.options.log << "wsgi: cannot accept: " << error.what();
            if (server.unreported_accept_failures > 0)
                *server.options.log << " (also " << server.unreported_accept_failures
                                    << " times since the last report)";
            *server.options.log << "; an idle connection is closed, if any, and the server retries\n";
        }
        server.last_accept_report = now;
        server.unreported_accept_failures = 0;
    }
    close_idle_longest(server);
    server.room.park(Seconds(0.1));
}

void stop(ServerState& server)
{
    server.stopping = true;
    // Closing wakes each idle connection's recv with IOClosed; copy first,
    // as the woken connections erase themselves from the list.
    const std::vector<GreenSocket*> idle(server.idle.begin(), server.idle.end());
    for (GreenSocket* socket : idle)
        socket->close();
}

/// Ends the connections under way: each green thread is killed, and closes
/// its socket as it unwinds.
void kill_connections(ServerState& server)
{
    // Copied: each killed thread erases itself from the list.
    std::vector<GreenThread<void>> left(server.connections.begin(), server.connections.end());
    for (GreenThread<void>& thread : left)
        thread.kill();
}

/// Lets the requests under way finish within the grace period, then ends
/// the connections left.
void finish(ServerState& server, GreenPool& pool)
{
    if (server.options.grace) {
        std::optional<Timeout> limit;
        try {
            limit.emplace(*server.options.grace);
            pool.waitall();
            return;
        } catch (const TimeoutError&) {
            if (!limit->expired())
                throw;
        }
        limit.reset();
        if (server.options.log != nullptr && !server.connections.empty())
            *server.options.log << "wsgi: the grace period is over; closing " << server.connections.size()
                                << " connection(s) still under way\n";
        kill_connections(server);
    }
    pool.waitall();
}

} // namespace

void server(GreenSocket& listener, App app, ServerOptions options)
{
    if (!app)
        throw std::invalid_argument("wsgi::server needs an application");
    if (options.tls && !options.tls->is_server())
        throw std::invalid_argument("an HTTPS wsgi::server needs a server Context (a certificate and key)");
    auto state = std::make_shared<ServerState>(std::move(app), std::move(options));
    GreenPool pool(state->options.concurrency);
    try {
        while (listener.is_open()) {
            std::optional<Accepted> accepted;
            try {
                accepted.emplace(listener.accept());
            } catch (const IOClosed&) {
                break;
            } catch (const SocketError& error) {
                if (!listener.is_open())
                    break;
                if (!out_of_descriptors(error))
                    throw;
                wait_for_a_descriptor(*state, error);
                continue;
            }
            if (!make_room(*state, pool, listener))
                break;
            // The slot is free, so spawn does not park, and the thread does
            // not start before its handle is in the list.
            const auto entry = state->connections.emplace(state->connections.end());
            try {
                *entry = pool.spawn(serve_connection, state, std::move(accepted->socket),
                                    std::move(accepted->peer), entry);
            } catch (...) {
                state->connections.erase(entry);
                throw;
            }
        }
    } catch (...) {
        // Killed, timed out, or accepting failed for good: no green thread
        // accepts any more, so the port must not take connections that
        // nobody would ever answer (Eventlet's server closes it too).
        if (listener.is_open())
            listener.close();
        stop(*state);
        // Nor may the requests under way go on with nobody to stop them:
        // the caller asked for the server to end, not for a grace period.
        kill_connections(*state);
        pool.waitall();
        throw;
    }
    stop(*state);
    finish(*state, pool);
}

} // namespace eventlet::wsgi
