// Private: the TLS state of a GreenSocket, and one step of each TLS call.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <span>
#include <string>

#include "eventlet/tls/context.hpp"

namespace eventlet::tls::detail {

/// What an OpenSSL call needs before it can go on: nothing (it is done),
/// or the socket to be readable or writable. A read may want to write (a
/// key update to answer) and a write may want to read (a handshake
/// message still to come): the caller parks for what is asked, not for
/// the direction of its own call.
enum class Want { nothing, read, write };

/// OpenSSL's SSL object on a non-blocking socket. Each call makes one try
/// and never waits: it returns what it needs, and GreenSocket parks for it
/// and calls again (socket.cpp). Errors are thrown (TlsError, VerifyError,
/// Truncated, or the SocketError of the system's errno), and OpenSSL's
/// per-thread error queue is left empty, for the next green thread.
///
/// What OpenSSL writes goes to the socket at once, and what the socket does
/// not take is kept here, in order, and sent before anything else: OpenSSL
/// itself never waits for room. It must not: a read answers the peer's
/// request for a key update by writing, and if a write of another green
/// thread had a record half sent, parked for room, OpenSSL would fail the
/// read ("bad length"), and with it the connection.
class Engine {
public:
    /// The state of a client (`server_name` set) or a server on `fd`.
    /// \throws TlsError if OpenSSL cannot make it (out of memory).
    Engine(const Context& context, int fd, bool server, const std::string& server_name);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    /// How a read or a write went: `bytes` moved once `want` is nothing
    /// (0 for a read: the peer's close_notify).
    struct Step {
        std::size_t bytes;
        Want want;
    };

    /// One try at the handshake: nothing once it is done.
    Want handshake();
    /// One try at decrypting into `buffer`.
    Step read(std::span<std::byte> buffer);
    /// One try at encrypting some of `data` (a record's worth at most).
    /// Bytes taken with `want` write are not all sent yet: the caller waits
    /// for room and calls flush() until it wants nothing, before it reports
    /// them sent.
    Step write(std::span<const std::byte> data);
    /// Sends what OpenSSL wrote and the socket did not take yet: nothing
    /// once all of it has gone, write while some waits for room.
    Want flush(const char* operation);
    /// The socket BIO's write: sends what the socket takes now and keeps the
    /// rest; false on the system's error (set_system_error()).
    bool output(const char* data, std::size_t length) noexcept;
    /// Sends close_notify if the socket takes it now; never throws. After
    /// it, writing fails with BrokenPipe, as after shutdown(SHUT_WR).
    void send_close_notify() noexcept;

    /// This side has shut down reading (shutdown(SHUT_RD)): the end of the
    /// stream that reads meet from now on is its own doing, and reads as
    /// the peer's close_notify would (0), not as a truncation.
    void reading_ended() noexcept { reading_ended_ = true; }
    /// This side has shut down writing (shutdown(SHUT_WR)) after its
    /// close_notify: what OpenSSL still writes (the answer to the peer's
    /// request for a key update) could never arrive, and is dropped
    /// instead of failing the read that wrote it.
    void writing_ended() noexcept;

    /// A wait of a write or of the handshake was cut short (a Timeout, a
    /// kill): the SSL object may be in the middle of a record or of the
    /// handshake, and every later call fails with Errc::unusable. (A read
    /// cut short is not reported here: it may simply be asked again.)
    void interrupted(const char* operation) noexcept;
    /// Marks the handshake as done (tls::start_client() checked it).
    void handshake_finished() noexcept { established_ = true; }
    /// True once the handshake is done and checked.
    bool established() const noexcept { return established_; }

    /// The SSL object, for what was agreed (tls::info()).
    SSL* ssl() const noexcept { return ssl_; }
    /// The socket's descriptor.
    int fd() const noexcept { return fd_; }

    /// The socket BIO's record of the system's answer: an errno, or 0.
    void set_system_error(int error) noexcept { system_error_ = error; }

private:
    // Classifies a failed call's `result`: what it waits for, or throws.
    Want want_or_throw(int result, const char* operation);
    // flush() that never throws, for the calls that must not fail for it:
    // what it could not send waits for the next call.
    void flush_quietly() noexcept;
    // Sends from unsent_ what the socket takes: false on the system's error.
    bool send_unsent() noexcept;
    [[noreturn]] void throw_failure(int ssl_error, const char* operation);
    void check_usable(const char* operation) const;

    SSL* ssl_;
    int fd_;
    std::string server_name_; // a client's: its tickets are filed under it
    std::string peer_;       // "server example.com", "client": for messages
    std::string interrupted_; // the call a wait of was cut short, if any
    std::string unsent_;      // written by OpenSSL, not yet taken by the socket
    int system_error_ = 0;
    bool established_ = false;
    bool failed_ = false;    // a fatal error: no close_notify may follow
    bool reading_ended_ = false;
    bool writes_dropped_ = false;
};

} // namespace eventlet::tls::detail

namespace eventlet {
class GreenSocket;
}

namespace eventlet::tls::detail {

/// What tls.cpp may reach inside a GreenSocket (its friend).
struct Access {
    /// Starts TLS on `socket` and runs the handshake (GreenSocket::start_tls).
    static void start(GreenSocket& socket, const Context& context, bool server, const std::string& server_name);
    /// The socket's TLS state, or null.
    static const Engine* engine(const GreenSocket& socket) noexcept;
};

} // namespace eventlet::tls::detail
