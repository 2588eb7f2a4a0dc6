// One step of each TLS call on a non-blocking socket, through a BIO of our own.
#include "tls/engine.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "eventlet/tls/errors.hpp"
#include "socket_error.hpp"
#include "tls/openssl_error.hpp"
#include "tls/session_cache.hpp"

namespace eventlet::tls::detail {
namespace {

// OpenSSL's socket BIO writes with write(), which raises SIGPIPE on a
// connection the peer has closed, and SIGPIPE's default ends the process.
// This BIO hands what OpenSSL writes to the Engine, which sends it with
// send(MSG_NOSIGNAL), as GreenSocket::send() does, and keeps what the socket
// does not take; it tells the Engine the errno of a failed call (OpenSSL
// only says "syscall").
Engine* engine_of(BIO* bio) { return static_cast<Engine*>(BIO_get_data(bio)); }

int bio_write(BIO* bio, const char* data, std::size_t length, std::size_t* written)
{
    BIO_clear_retry_flags(bio);
    if (!engine_of(bio)->output(data, length))
        return 0;
    *written = length;
    return 1;
}

int bio_read(BIO* bio, char* data, std::size_t length, std::size_t* read)
{
    BIO_clear_retry_flags(bio);
    for (;;) {
        const ssize_t received = ::recv(engine_of(bio)->fd(), data, length, 0);
        if (received > 0) {
            *read = static_cast<std::size_t>(received);
            return 1;
        }
        if (received == 0)
            return 0; // the end of the stream: OpenSSL decides whether it came too soon
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_read(bio);
        else
            engine_of(bio)->set_system_error(errno);
        return 0;
    }
}

long bio_control(BIO*, int command, long, void*)
{
    // Writes go straight to the socket: there is nothing to flush. Every
    // other request (kernel TLS, pending bytes...) is one this BIO declines.
    return command == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* bio)
{
    BIO_set_init(bio, 1);
    return 1;
}

// Made once per process, and kept to its end: every connection's BIO
// points to it.
const BIO_METHOD* socket_method()
{
    static const BIO_METHOD* const method = [] {
        BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "eventlet socket");
        if (made == nullptr || BIO_meth_set_write_ex(made, bio_write) != 1 ||
            BIO_meth_set_read_ex(made, bio_read) != 1 || BIO_meth_set_ctrl(made, bio_control) != 1 ||
            BIO_meth_set_create(made, bio_create) != 1)
            throw TlsError(Errc::protocol, "cannot set up OpenSSL's socket I/O");
        return made;
    }();
    return method;
}

bool is_ip_address(const std::string& host)
{
    unsigned char address[16];
    return ::inet_pton(AF_INET, host.c_str(), address) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), address) == 1;
}

// Sends what the socket takes now of `length` bytes at `data`: how many it
// took, or -1 (errno set) for an error other than a full buffer.
ssize_t send_what_fits(int fd, const char* data, std::size_t length) noexcept
{
    std::size_t taken = 0;
    while (taken < length) {
        const ssize_t sent = ::send(fd, data + taken, length - taken, MSG_NOSIGNAL);
        if (sent >= 0)
            taken += static_cast<std::size_t>(sent);
        else if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        else if (errno != EINTR)
            return -1;
    }
    return static_cast<ssize_t>(taken);
}

// A write takes a record's worth at most: what the socket does not take of
// it waits in the Engine, and the next write sends it first.
constexpr std::size_t max_record_bytes = SSL3_RT_MAX_PLAIN_LENGTH;
// What may wait unsent when a read begins: a record a write left, and the
// answers of reads since. A peer that reads what it is sent never leaves
// this much; OpenSSL takes 32 key updates in a row, and needs data between.
constexpr std::size_t max_unsent_for_reads = 64 * 1024;

} // namespace

Engine::Engine(const Context& context, int fd, bool server, const std::string& server_name)
    : ssl_(SSL_new(context.native())), fd_(fd), server_name_(server_name),
      peer_(server ? "client" : "server " + server_name)
{
    if (ssl_ == nullptr)
        throw TlsError(Errc::protocol, "cannot start TLS: " + take_openssl_reason());
    BIO* bio = BIO_new(socket_method());
    if (bio == nullptr) {
        SSL_free(ssl_);
        throw TlsError(Errc::protocol, "cannot start TLS: " + take_openssl_reason());
    }
    BIO_set_data(bio, this); // an Engine never moves: GreenSocket holds it by pointer
    SSL_set_bio(ssl_, bio, bio); // the SSL object owns the BIO from here on
    if (server) {
        SSL_set_accept_state(ssl_);
        return;
    }
    SSL_set_connect_state(ssl_);
    // A name goes in the ClientHello (SNI: the server may host many), and
    // the certificate must name it; an address is checked against the
    // certificate's IP entries, and never sent as a name (RFC 6066, 3).
    bool named = false;
    if (is_ip_address(server_name))
        named = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), server_name.c_str()) == 1;
    else
        named = SSL_set_tlsext_host_name(ssl_, server_name.c_str()) == 1 &&
                SSL_set1_host(ssl_, server_name.c_str()) == 1;
    if (!named) {
        SSL_free(ssl_);
        throw TlsError(Errc::protocol, "cannot start TLS with '" + server_name + "': " + take_openssl_reason());
    }
    SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    offer_session(ssl_, server_name_);
}

Engine::~Engine() { SSL_free(ssl_); }

void Engine::check_usable(const char* operation) const
{
    if (!interrupted_.empty())
        throw TlsError(Errc::unusable, std::string(operation) + " with " + peer_ + ": a wait of an earlier " +
                                           interrupted_ + " was cut short (a timeout or a kill), and TLS "
                                           "cannot resume it: the connection can only be closed");
    if (failed_)
        throw TlsError(Errc::unusable, std::string(operation) + " with " + peer_ +
                                           ": an earlier TLS error ended this connection");
}

void Engine::interrupted(const char* operation) noexcept
{
    if (interrupted_.empty())
        interrupted_ = operation;
}

bool Engine::output(const char* data, std::size_t length) noexcept
{
    if (writes_dropped_)
        return true;
    // Behind bytes still waiting, the socket may take nothing of these.
    if (unsent_.empty()) {
        const ssize_t taken = send_what_fits(fd_, data, length);
        if (taken < 0) {
            system_error_ = errno;
            return false;
        }
        data += taken;
        length -= static_cast<std::size_t>(taken);
    }
    unsent_.append(data, length);
    return true;
}

bool Engine::send_unsent() noexcept
{
    const ssize_t taken = send_what_fits(fd_, unsent_.data(), unsent_.size());
    if (taken < 0) {
        system_error_ = errno;
        return false;
    }
    unsent_.erase(0, static_cast<std::size_t>(taken));
    return true;
}

Want Engine::flush(const char* operation)
{
    check_usable(operation);
    if (writes_dropped_)
        unsent_.clear();
    if (!send_unsent()) {
        failed_ = true;
        eventlet::detail::throw_socket_error(system_error_, std::string(operation) + " with " + peer_);
    }
    return unsent_.empty() ? Want::nothing : Want::write;
}

void Engine::flush_quietly() noexcept
{
    if (writes_dropped_)
        unsent_.clear();
    send_unsent();
}

Want Engine::handshake()
{
    check_usable("TLS handshake");
    // Each flight must leave whole before the peer's answer is waited for.
    if (flush("TLS handshake") == Want::write)
        return Want::write;
    ERR_clear_error();
    system_error_ = 0;
    const int result = SSL_do_handshake(ssl_);
    const Want want = result == 1 ? Want::nothing : want_or_throw(result, "TLS handshake");
    return flush("TLS handshake") == Want::write ? Want::write : want;
}

Engine::Step Engine::read(std::span<std::byte> buffer)
{
    check_usable("recv");
    if (buffer.empty())
        return {0, Want::nothing};
    // What this side owes the peer goes first, but a read never waits for
    // room: the peer may wait for this side to read before it reads itself,
    // a send waiting for room sends it all, and so does the next call. A
    // peer that piles up answers it never takes (a key update asked again
    // and again) is not followed further.
    flush_quietly();
    if (unsent_.size() >= max_unsent_for_reads) {
        failed_ = true;
        throw TlsError(Errc::protocol, "recv with " + peer_ + ": the peer takes none of what this side owes it "
                                       "(answers to its requests for key updates) and asks for more");
    }
    ERR_clear_error();
    system_error_ = 0;
    std::size_t received = 0;
    if (SSL_read_ex(ssl_, buffer.data(), buffer.size(), &received) == 1) {
        flush_quietly(); // the data is the caller's: an error waits for the next call
        return {received, Want::nothing};
    }
    // The peer's close_notify: the end of the stream, as it meant it. Or
    // this side's shutdown of reading: an end of file (OpenSSL's "syscall"
    // failure without an errno) that OpenSSL has not taken as fatal, so
    // writing goes on.
    const int error = SSL_get_error(ssl_, 0);
    if (error == SSL_ERROR_ZERO_RETURN || (reading_ended_ && error == SSL_ERROR_SYSCALL && system_error_ == 0)) {
        ERR_clear_error();
        return {0, Want::nothing};
    }
    flush_quietly();
    return {0, want_or_throw(0, "recv")};
}

Engine::Step Engine::write(std::span<const std::byte> data)
{
    check_usable("send");
    if ((SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) != 0)
        throw BrokenPipe(std::error_code(EPIPE, std::system_category()),
                         "send with " + peer_ + " after this side's close_notify");
    if (data.empty())
        return {0, Want::nothing};
    // The last record first: so at most one record waits here at a time.
    if (flush("send") == Want::write)
        return {0, Want::write};
    ERR_clear_error();
    system_error_ = 0;
    std::size_t sent = 0;
    if (SSL_write_ex(ssl_, data.data(), std::min(data.size(), max_record_bytes), &sent) == 1)
        return {sent, flush("send")};
    return {0, want_or_throw(0, "send")};
}

void Engine::send_close_notify() noexcept
{
    // After a fatal error OpenSSL must not be asked for an alert; before the
    // handshake ends, or in the middle of a cut-short record, there is no
    // stream to close cleanly.
    if (failed_ || !established_ || !interrupted_.empty() || (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) != 0)
        return;
    ERR_clear_error();
    flush_quietly();
    SSL_shutdown(ssl_);
    flush_quietly(); // one try: what the socket's buffer cannot take is lost with the socket
    ERR_clear_error();
}

void Engine::writing_ended() noexcept
{
    // Only after close_notify, when the stream's own writes are refused
    // (write() throws BrokenPipe): what is dropped is OpenSSL's alone. A
    // handshake still under way needs its writes, and fails without them.
    writes_dropped_ = (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) != 0;
    if (writes_dropped_)
        unsent_.clear();
}

Want Engine::want_or_throw(int result, const char* operation)
{
    const int error = SSL_get_error(ssl_, result);
    if (error == SSL_ERROR_WANT_READ)
        return Want::read;
    if (error == SSL_ERROR_WANT_WRITE)
        return Want::write;
    throw_failure(error, operation);
}

void Engine::throw_failure(int ssl_error, const char* operation)
{
    failed_ = true;
    const std::string where = std::string(operation) + " with " + peer_;
    // The system's error, when it gave one, says best what happened: a
    // reset, a broken pipe. (A write to a peer that sent close_notify and
    // went away comes back from OpenSSL as ZERO_RETURN, with EPIPE here.)
    if ((ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN) && system_error_ != 0) {
        ERR_clear_error();
        eventlet::detail::throw_socket_error(system_error_, where);
    }
    if (ssl_error == SSL_ERROR_ZERO_RETURN && established_) {
        ERR_clear_error();
        throw BrokenPipe(std::error_code(EPIPE, std::system_category()),
                         where + ": the peer has ended the stream (close_notify)");
    }
    const unsigned long first = ERR_peek_error();
    const bool ended = ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN ||
                       (ERR_GET_LIB(first) == ERR_LIB_SSL && ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
    if (ended) {
        ERR_clear_error();
        throw Truncated(where + (established_ ? ": the connection ended without close_notify, so what came "
                                                "may be cut short"
                                              : ": the connection ended during the handshake"));
    }
    const long verify_result = SSL_get_verify_result(ssl_);
    if (ERR_GET_LIB(first) == ERR_LIB_SSL && ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED &&
        verify_result != X509_V_OK) {
        ERR_clear_error();
        std::string reason = X509_verify_cert_error_string(verify_result);
        if (verify_result == X509_V_ERR_HOSTNAME_MISMATCH || verify_result == X509_V_ERR_IP_ADDRESS_MISMATCH)
            reason += " (the certificate is not for " + peer_.substr(peer_.find(' ') + 1) + ")";
        throw VerifyError(verify_result, where + ": certificate verify failed: " + reason);
    }
    throw TlsError(Errc::protocol, where + ": " + take_openssl_reason());
}

} // namespace eventlet::tls::detail
