/// \file
/// GreenSocket: a TCP socket whose blocking calls park the green thread
/// on the hub instead of blocking the OS thread.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "eventlet/address.hpp"
#include "eventlet/errors.hpp"
#include "eventlet/hub.hpp"
#include "eventlet/seconds.hpp"
#include "eventlet/socket_errors.hpp"

namespace eventlet {

struct Accepted;

namespace tls {
class Context;
namespace detail {
class Engine;
struct Access;
} // namespace detail
} // namespace tls

/// Which direction shutdown() ends.
enum class Shutdown {
    read,  ///< no more receiving (SHUT_RD)
    write, ///< no more sending: the peer reads end of file (SHUT_WR)
    both,  ///< both (SHUT_RDWR)
};

/// A TCP socket for green threads (Eventlet's GreenSocket).
///
/// Every call that could block first tries the operation without blocking;
/// only if the system says "not now" (EAGAIN) does it park the current green
/// thread on the hub until the descriptor is ready, then try again. Other
/// green threads run meanwhile. The descriptor is always in non-blocking
/// mode, so the OS thread itself never blocks in a socket call.
///
/// A GreenSocket owns its descriptor: move-only, closed by its destructor.
/// At most one green thread may wait to receive (or accept) on a socket at
/// a time, and one to send; closing a socket wakes those with IOClosed.
/// Every call that parks may also throw what is thrown into the waiting
/// green thread (TimeoutError from an eventlet::Timeout, GreenletExit).
///
/// Once TLS runs on it (tls::start_client(), tls::start_server()), the
/// socket's recv(), send() and their kin carry the data encrypted, and park
/// for whatever the TLS engine waits for; the rest is the same. One green
/// thread may receive while another sends, as on a plain socket, with one
/// rare exception: a receive that must first write (the peer asked for a key
/// update) while the other green thread waits to send into a full buffer,
/// a record half written, fails: OpenSSL cannot put its answer behind that
/// record, and the receive throws tls::TlsError, which ends the connection.
///
/// A green thread whose peer keeps the kernel's buffers ready never parks:
/// every recv() finds data, every send() finds room. So that it cannot hold
/// its hub for a whole transfer, a socket that has moved fair_share_bytes
/// without parking gives the hub's other green threads a turn (a sleep(0))
/// at the start of its next recv() or send(), before it touches the data.
/// Closed, destroyed or moved from during that turn, the socket wakes it
/// with IOClosed, as it does a green thread parked on it.
class GreenSocket {
public:
    /// The bytes a socket may receive and send, together, without parking
    /// before its next recv() or send() first lets the hub's other green
    /// threads run. One turn of the hub then costs at most this much copying
    /// per busy socket: 64 KiB is a few microseconds of memcpy, and one big
    /// read. try_recv() counts toward it but never yields itself.
    static constexpr std::size_t fair_share_bytes = 64 * 1024;

    /// A socket that is not open.
    GreenSocket() noexcept;
    /// Opens a new TCP socket of `family`, unbound and unconnected.
    /// \throws SocketError if the system refuses (out of descriptors, say).
    explicit GreenSocket(Family family);
    /// Takes ownership of `fd`, a connected or listening stream socket, and
    /// puts it in non-blocking mode.
    /// \throws std::invalid_argument if `fd` is negative; SocketError if it
    ///         is not a valid descriptor (then `fd` is not closed).
    static GreenSocket adopt(int fd);
    /// Takes over `other`'s socket; `other` is left closed. A green thread
    /// parked in a call on `other` is woken with IOClosed, as by close():
    /// it waited on an object that no longer holds the socket. With TLS, a
    /// send or handshake so abandoned leaves the socket fit only to be
    /// closed, as one cut short by a Timeout does (see send()).
    ///
    /// Only on the OS thread whose hub the socket has waited on (see
    /// close()): elsewhere that hub could not wake its green thread, and the
    /// move ends the process with a std::logic_error's message, as the
    /// destructor does. A socket that has never waited may move anywhere.
    GreenSocket(GreenSocket&& other) noexcept;
    /// Closes this socket (see close()), then takes over `other`'s (waking
    /// a green thread parked on `other`, as the move constructor does, and
    /// on its OS thread only).
    GreenSocket& operator=(GreenSocket&& other) noexcept;
    GreenSocket(const GreenSocket&) = delete;
    GreenSocket& operator=(const GreenSocket&) = delete;
    /// Closes the socket (see close()).
    ~GreenSocket();

    /// Binds to `address`; a host name is resolved first (see resolve()).
    /// \throws SocketError (EADDRINUSE, say); AddressError if the address
    ///         is not of the socket's family; ResolveError.
    void bind(const Address& address);
    /// Starts listening. The backlog bounds the connections the kernel
    /// completes before accept() takes them; the kernel caps it at
    /// net.core.somaxconn.
    /// \throws SocketError.
    void listen(int backlog = SOMAXCONN);
    /// Connects to `address` (a name is resolved first, and the first
    /// address of the socket's family is used). Parks until the connection
    /// is made, within the socket's timeout.
    /// \throws ConnectionRefused; IOTimeout; SocketError for the rest
    ///         (ENETUNREACH, say); ResolveError; AddressError.
    void connect(const Address& address);
    /// Takes the next connection, parking until one comes. The new socket
    /// has no timeout, whatever this one's is (as in Python).
    /// \throws IOTimeout; IOClosed if the socket is closed meanwhile;
    ///         SocketError (EMFILE, say).
    Accepted accept();

    /// Receives at most `buffer.size()` bytes, parking until at least one
    /// byte or the end of the stream arrives. May first yield to the hub's
    /// other green threads (see fair_share_bytes); an exception thrown into
    /// it then comes before the read, so no received byte is lost to it.
    /// \returns the number of bytes received; 0 means the peer shut down
    ///          writing (end of file; with TLS, its close_notify), or this
    ///          side shut down reading (shutdown(); with TLS too), or
    ///          `buffer` is empty (then at once: Eventlet's recv(0) first
    ///          waits for the socket to be readable).
    /// \throws ConnectionReset; IOTimeout; IOClosed; SocketError; with TLS,
    ///         tls::Truncated when the connection ends without close_notify,
    ///         tls::TlsError when a record does not decrypt.
    std::size_t recv(std::span<std::byte> buffer);
    /// Same as recv(std::span<std::byte>), into chars.
    std::size_t recv(std::span<char> buffer);
    /// Receives at most `max_bytes` bytes, and at most max_string_recv in
    /// one call, as a string ("" at end of file).
    std::string recv(std::size_t max_bytes);
    /// The most recv(std::size_t) returns in one call (64 KiB): its string
    /// is filled before the read, so a larger `max_bytes` would cost its
    /// size in memory and time however few bytes came.
    static constexpr std::size_t max_string_recv = 64 * 1024;
    /// Receives what is there now, without parking: recv() that returns
    /// nullopt where it would wait. For a caller that sets up something
    /// costly (a Timeout, say) only when it must wait.
    /// \returns as recv(), or nullopt if no byte is there yet.
    /// \throws ConnectionReset; IOClosed; SocketError (never IOTimeout);
    ///         with TLS, as recv().
    std::optional<std::size_t> try_recv(std::span<std::byte> buffer);
    /// Same as try_recv(std::span<std::byte>), into chars.
    std::optional<std::size_t> try_recv(std::span<char> buffer);
    /// recv() for a caller whose try_recv() has just returned nothing, with
    /// no switch since: parks first and reads after, instead of asking the
    /// kernel a second time for what it just said it did not have. Same
    /// result and errors as recv().
    std::size_t recv_after_try(std::span<char> buffer);
    /// Sends some of `data`, parking until at least one byte fits in the
    /// socket's buffer. May first yield, as recv() does (see
    /// fair_share_bytes), before a byte is sent.
    /// \returns the number of bytes sent.
    /// \throws BrokenPipe (never a SIGPIPE); ConnectionReset; IOTimeout;
    ///         IOClosed; SocketError. With TLS, a wait cut short (IOTimeout,
    ///         a Timeout, a kill) leaves a record half sent: every later
    ///         call but close() and shutdown() then throws tls::TlsError
    ///         (Errc::unusable).
    std::size_t send(std::span<const std::byte> data);
    /// Same as send(std::span<const std::byte>), for text.
    std::size_t send(std::string_view data);
    /// Sends all of `data`, parking as often as needed. The timeout
    /// applies to each wait, not to the whole call (as in Eventlet).
    /// \throws as send(); when it throws, an unknown part of `data` was sent.
    void sendall(std::span<const std::byte> data);
    /// Same as sendall(std::span<const std::byte>), for text.
    void sendall(std::string_view data);
    /// Ends one or both directions of the connection, and wakes nobody:
    /// after shutdown(Shutdown::write) the peer's recv() returns 0. After
    /// shutdown(Shutdown::read), this socket's recv() returns what had come,
    /// then 0 (a parked one wakes to it), with TLS as without: the end is
    /// this side's own, not a truncation (the peer's end of file after it
    /// reads as 0 too; before it, tls::Truncated, as recv() says). With
    /// TLS, ending the writing direction first sends close_notify, if the
    /// socket's buffer takes it at once (it does unless the peer has
    /// stopped reading): shutdown() never parks. Reading goes on after it:
    /// what TLS would still write for the peer on the way (the answer to a
    /// request for a key update) is dropped, as it could not arrive.
    /// \throws SocketError (ENOTCONN, say).
    void shutdown(Shutdown how);
    /// Closes the socket. A green thread waiting on it (in recv, accept...),
    /// or yielding in recv() or send() (see fair_share_bytes), wakes with
    /// IOClosed; the hub forgets the descriptor before the
    /// system may reuse its number. Does nothing if the socket is not open.
    /// Never switches. With TLS, close_notify goes first, as for
    /// shutdown(Shutdown::write).
    ///
    /// A socket belongs to the OS thread whose hub it first waited on: only
    /// that hub can forget its descriptor.
    /// \throws std::logic_error, and leaves the socket open, when called on
    ///         another OS thread (from the destructor, that ends the process
    ///         with the message, as any exception escaping a destructor).
    void close();
    /// Ends the connection abortively, then closes the socket: the peer gets
    /// a reset (its recv() throws ConnectionReset) instead of an end of
    /// file, and with TLS no close_notify goes first. For a connection that
    /// must not look finished when it is not: a proxy whose other side
    /// failed, a response cut short. Does nothing if the socket is not
    /// open. Never switches.
    /// \throws std::logic_error as close().
    void abort();

    /// The limit on each wait of a blocking call: nullopt waits for ever
    /// (the default), zero fails at once with IOTimeout instead of parking.
    void set_timeout(std::optional<Seconds> timeout) noexcept { timeout_ = timeout; }
    /// The limit set by set_timeout().
    std::optional<Seconds> timeout() const noexcept { return timeout_; }

    /// Sets an integer socket option (setsockopt).
    /// \throws SocketError if the system refuses it.
    void set_option(int level, int name, int value);
    /// Reads an integer socket option (getsockopt). \throws SocketError.
    int option(int level, int name) const;
    /// TCP_NODELAY: send small writes at once instead of batching them.
    void set_nodelay(bool on) { set_option(IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0); }
    /// SO_REUSEADDR: bind to a port whose old connections linger in TIME_WAIT.
    void set_reuse_address(bool on) { set_option(SOL_SOCKET, SO_REUSEADDR, on ? 1 : 0); }
    /// SO_REUSEPORT: let other sockets of this user bind the same address
    /// and port, each with SO_REUSEPORT too; the kernel then spreads the
    /// incoming connections over their listeners. Set it before bind().
    void set_reuse_port(bool on) { set_option(SOL_SOCKET, SO_REUSEPORT, on ? 1 : 0); }
    /// SO_KEEPALIVE: probe an idle connection, to notice a vanished peer.
    void set_keepalive(bool on) { set_option(SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0); }

    /// The address this socket is bound to (numeric). \throws SocketError.
    Address local_address() const;
    /// The address of the connected peer (numeric).
    /// \throws SocketError (ENOTCONN if not connected).
    Address peer_address() const;
    /// The socket's family. \throws SocketError if it is not open.
    Family family() const;

    /// The descriptor, or -1 if the socket is not open. It stays owned by
    /// this object.
    int fd() const noexcept { return fd_; }
    /// True if the socket is open.
    bool is_open() const noexcept { return fd_ >= 0; }
    /// True once TLS runs on the socket (tls::start_client(), tls::start_server()).
    bool is_tls() const noexcept { return tls_ != nullptr; }
    /// Same as is_open().
    explicit operator bool() const noexcept { return is_open(); }
    /// Gives up ownership: returns the descriptor (or -1), and leaves this
    /// socket closed without closing the descriptor. The hub forgets the
    /// descriptor (a green thread waiting on it wakes with IOClosed). Bytes
    /// the socket holds for its next read (those of a read that a kill or a
    /// Timeout ended after the kernel had copied them) cannot go with the
    /// descriptor, and are dropped.
    /// \throws std::logic_error, and keeps the descriptor, when called on
    ///         another OS thread than the socket's (see close()), or when
    ///         TLS runs on it (its state cannot go with a bare descriptor).
    int release();

private:
    friend struct tls::detail::Access;

    explicit GreenSocket(int fd, std::optional<Seconds> timeout) noexcept;
    int checked_fd(const char* operation) const;
    // What every wait does first: fails at once with a zero timeout, and
    // ties the socket to this thread's hub.
    void before_park(const char* operation);
    // Rethrows the exception being handled, an IOTimeout of the hub's with
    // the socket's message (what timed out, after how long).
    [[noreturn]] void rethrow_named(const char* operation) const;
    void park(Readiness want, const char* operation, Tried tried = Tried::not_yet);
    // recv() through the hub's ring, when the socket has nothing now.
    // nullopt: the hub reads the readiness way (park()) instead.
    std::optional<std::size_t> receive_by_ring(std::span<std::byte> buffer);
    // The bytes a cancelled read had taken (see receive_by_ring()), and
    // the next read's way to them.
    void keep_unread(std::span<const std::byte> bytes) noexcept;
    std::size_t take_unread(std::span<std::byte> buffer) noexcept;
    // Gives the hub's other green threads a turn once the socket has moved
    // its fair share without parking (see fair_share_bytes).
    void yield_if_over_share(const char* operation);
    // Tells the green threads in yield_if_over_share() and park_for_tls()
    // that the descriptor is gone (closed, released, moved away), before
    // the object may be; a TLS write or handshake one abandons marks the
    // engine, if it lives on (moved away).
    void end_yields() noexcept;
    // The moves: takes `other`'s socket and state, leaving it closed.
    void take_over(GreenSocket& other) noexcept;
    void check_thread(const char* operation) const;
    // TLS (socket.cpp): the handshake, and a park for what the engine wants.
    void start_tls(const tls::Context& context, bool server, const std::string& server_name);
    void park_for_tls(bool wants_read, const char* operation, bool resumable);

    int fd_ = -1;
    std::optional<Seconds> timeout_;
    // The thread whose hub the socket has waited on; none until it waits.
    std::thread::id owner_;
    // The TLS state, once TLS runs on the socket.
    std::unique_ptr<tls::detail::Engine> tls_;
    // The last read was short: it took all the kernel had (true only of a
    // stream socket). Another read before the hub notes new data is an
    // EAGAIN, and try_recv() spares the system call.
    bool read_drained_ = false;
    // Bytes received for a read that an exception ended (a kill, a
    // Timeout) after the kernel had copied them: the next read returns
    // them first. Almost always null.
    std::unique_ptr<std::string> unread_;
    // Bytes moved (received and sent) since the socket last parked.
    std::size_t unparked_bytes_ = 0;
    // A short read means an empty queue only on a stream (an adopted
    // datagram socket reads one datagram at a time).
    bool stream_ = true;
    // The green threads yielding in a call on this socket, or parked in a
    // TLS one: the hub's notify_close() cannot reach the first (a yield
    // does not park on the hub), nor the second once an exception was
    // thrown into it (see park_for_tls()).
    struct Yield;
    Yield* yields_ = nullptr;
};

/// What accept() returns: the new connection and the peer's address.
/// `auto [socket, peer] = listener.accept();`
struct Accepted {
    GreenSocket socket; ///< the connection, owned by the caller
    Address peer;       ///< the address it comes from (numeric)
};

/// How listen() sets up its socket, beyond the address.
///
///     auto listener = eventlet::listen({"0.0.0.0", 8080}, {.reuse_port = true});
struct ListenOptions {
    /// The connections the kernel completes before accept() takes them;
    /// the kernel caps it at net.core.somaxconn (see listen()).
    int backlog = SOMAXCONN;
    /// Sets SO_REUSEPORT (see GreenSocket::set_reuse_port()): several
    /// listeners, in one process or several, may then bind the same port,
    /// and the kernel hands each new connection to one of them, chosen by
    /// a hash of its addresses and ports. One listener per OS thread is how
    /// ServerThreads spreads connections over its hubs. Off by default:
    /// with it, a second server started by mistake on a port of this user
    /// shares the connections silently, where EADDRINUSE would have told.
    bool reuse_port = false;
};

/// Opens a TCP socket listening on `address` (Eventlet's `eventlet.listen`),
/// with SO_REUSEADDR set, as Eventlet does. Port 0 lets the system choose
/// (read it back with local_address()). A host name is resolved first, and
/// its first address is used.
///
/// The default backlog is SOMAXCONN, not Eventlet's 50: a burst of connects
/// larger than the backlog is not refused but stalled, each extra client
/// retrying its SYN after a second or more.
/// \throws SocketError (EADDRINUSE, say); AddressError; ResolveError.
GreenSocket listen(const Address& address, int backlog = SOMAXCONN);

/// listen() with `options`: the backlog and SO_REUSEPORT.
/// \throws as listen(const Address&, int).
GreenSocket listen(const Address& address, const ListenOptions& options);

/// Opens a TCP connection to `address` (Eventlet's `eventlet.connect`). A
/// host name is resolved off the hub, and its addresses are tried in order
/// until one accepts (as Python's socket.create_connection does), so that
/// "localhost" works whether the server listens on ::1 or 127.0.0.1.
/// `timeout` bounds the whole call, resolution included; the socket
/// returned has no timeout.
/// \throws ConnectionRefused (or the error of the last address tried);
///         IOTimeout; ResolveError; AddressError.
GreenSocket connect(const Address& address, std::optional<Seconds> timeout = std::nullopt);

} // namespace eventlet
