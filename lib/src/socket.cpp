// Green sockets: try the system call; on EAGAIN park on the hub, then retry.
#include "eventlet/socket.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "eventlet/resolver.hpp"
#include "ring_receive.hpp"
#include "seconds_text.hpp"
#include "sockaddr.hpp"
#include "socket_error.hpp"
#include "tls/engine.hpp"

namespace eventlet {

namespace detail {

// The errors a user handles differently get classes of their own.
[[noreturn]] void throw_socket_error(int error, const std::string& what)
{
    const std::error_code code(error, std::system_category());
    switch (error) {
    case ECONNREFUSED:
        throw ConnectionRefused(code, what);
    case ECONNRESET:
        throw ConnectionReset(code, what);
    case EPIPE:
        throw BrokenPipe(code, what);
    default:
        throw SocketError(code, what);
    }
}

} // namespace detail

namespace {

bool would_block(int error) { return error == EAGAIN || error == EWOULDBLOCK; }

std::string on(const char* operation, int fd)
{
    return std::string(operation) + " on socket " + std::to_string(fd);
}

Family family_of(const Address& address) { return address.is_ipv6() ? Family::ipv6 : Family::ipv4; }

const char* name_of(Family family) { return family == Family::ipv6 ? "IPv6" : "IPv4"; }

// The numeric address of `family` to use for `address`: itself if numeric,
// else the first of its resolved addresses of that family.
Address numeric_for(Family family, const Address& address, const char* operation)
{
    for (const Address& candidate : resolve(address)) {
        if (family_of(candidate) == family)
            return candidate;
    }
    throw AddressError(std::string("cannot ") + operation + " an " + name_of(family) +
                       " socket to '" + address.to_string() + "': it is not an " +
                       name_of(family) + " address");
}

// A descriptor the system has just handed out, told to the hub: its number
// may be one the hub still watches, closed under a socket by a raw close().
int opened(int fd) noexcept
{
    if (fd >= 0) {
        if (Hub* hub = Hub::existing(); hub != nullptr)
            hub->notify_opened(fd);
    }
    return fd;
}

} // namespace

// Out of line: the TLS engine the destructor frees is complete only here.
GreenSocket::GreenSocket() noexcept = default;

GreenSocket::GreenSocket(int fd, std::optional<Seconds> timeout) noexcept
    : fd_(fd), timeout_(timeout)
{
}

GreenSocket::GreenSocket(Family family)
    // Non-blocking from birth: a socket call that blocked the OS thread
    // would stop every green thread.
    : fd_(opened(::socket(detail::native_family(family), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)))
{
    if (fd_ < 0)
        detail::throw_socket_error(errno, std::string("cannot open an ") + name_of(family) + " socket");
}

GreenSocket GreenSocket::adopt(int fd)
{
    if (fd < 0)
        throw std::invalid_argument("cannot adopt descriptor " + std::to_string(fd));
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        detail::throw_socket_error(errno, "cannot adopt descriptor " + std::to_string(fd));
    GreenSocket socket(opened(fd), std::nullopt);
    int type = 0;
    socklen_t length = sizeof type;
    socket.stream_ = ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 &&
                     type == SOCK_STREAM;
    return socket;
}

namespace {

// A green thread parked in a call on a socket holds the socket's address.
// Moved away, the socket is gone from under it as if closed (and the object
// it would resume into may be gone too: a vector of sockets that grows). So
// it is woken with IOClosed, after which it touches nothing of the object.
// Only when one waits: notify_close() also takes the descriptor out of the
// hub's set, which the next wait would put back.
int wake_waiters_of_moved(int fd) noexcept
{
    if (fd >= 0) {
        if (Hub* hub = Hub::existing(); hub != nullptr && hub->waited_on(fd))
            hub->notify_close(fd);
    }
    return fd;
}

} // namespace

GreenSocket::GreenSocket(GreenSocket&& other) noexcept { take_over(other); }

GreenSocket& GreenSocket::operator=(GreenSocket&& other) noexcept
{
    if (this != &other) {
        close();
        take_over(other);
    }
    return *this;
}

void GreenSocket::take_over(GreenSocket& other) noexcept
{
    // Only the owner's hub can wake a green thread parked on `other`: on
    // another OS thread that green thread would sleep on, and resume into
    // an object that may be gone. A move cannot fail (noexcept), so the
    // throw ends the process with its message, as the destructor's does.
    other.check_thread("move");
    // Before the engine moves: a write or handshake abandoned in the middle
    // is marked on the engine that goes on here.
    other.end_yields();
    fd_ = wake_waiters_of_moved(std::exchange(other.fd_, -1));
    timeout_ = other.timeout_;
    owner_ = std::exchange(other.owner_, {});
    tls_ = std::move(other.tls_);
    read_drained_ = std::exchange(other.read_drained_, false);
    unread_ = std::move(other.unread_);
    stream_ = other.stream_;
}

GreenSocket::~GreenSocket() { close(); }

void GreenSocket::close()
{
    if (fd_ < 0)
        return;
    check_thread("close");
    if (tls_) {
        tls_->send_close_notify();
        tls_.reset();
    }
    const int fd = std::exchange(fd_, -1);
    owner_ = {};
    read_drained_ = false;
    unread_.reset();
    end_yields();
    // First the hub, then the system: once closed, the number may be
    // handed to a new socket while a waiter still thinks it is ours. A
    // socket destroyed during the thread's exit, after the hub, has nobody
    // left to tell, and must not touch the hub's remains.
    if (Hub* hub = Hub::existing())
        hub->notify_close(fd);
    ::close(fd);
}

void GreenSocket::abort()
{
    if (fd_ < 0)
        return;
    check_thread("abort");
    // A zero linger time makes close() send a reset at once, dropping what
    // is still unsent, instead of the orderly end of stream.
    const linger reset{.l_onoff = 1, .l_linger = 0};
    (void)::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    tls_.reset(); // no close_notify: the stream did not end as it should
    close();
}

int GreenSocket::release()
{
    if (fd_ < 0)
        return -1;
    check_thread("release");
    if (tls_)
        throw std::logic_error(on("release", fd_) + ": TLS runs on it, and its state cannot go "
                                                     "with a bare descriptor");
    const int fd = std::exchange(fd_, -1);
    owner_ = {};
    read_drained_ = false;
    unread_.reset(); // (release() documents it)
    end_yields();
    // Whoever gets the descriptor may close it without telling the hub.
    if (Hub* hub = Hub::existing())
        hub->notify_close(fd);
    return fd;
}

void GreenSocket::check_thread(const char* operation) const
{
    // Each OS thread has a hub of its own, and a hub is not thread-safe: a
    // socket waited on in one thread's hub and closed in another would
    // leave its descriptor registered in the first, where a new socket
    // given the same number would wait for ever.
    if (owner_ != std::thread::id() && owner_ != std::this_thread::get_id())
        throw std::logic_error(on(operation, fd_) +
                               " called on another OS thread than the one whose hub it waits "
                               "on: a socket belongs to its hub's thread");
}

int GreenSocket::checked_fd(const char* operation) const
{
    if (fd_ < 0)
        throw SocketError(std::error_code(EBADF, std::system_category()),
                          std::string(operation) + " on a closed socket");
    return fd_;
}

void GreenSocket::before_park(const char* operation)
{
    // Python's settimeout(0.0): a call that would block fails instead.
    if (timeout_ && timeout_->count() <= 0)
        throw IOTimeout(on(operation, fd_) + " would block, and the socket's timeout is zero");
    // The socket calls notify_close() before it closes (or gives away) its
    // descriptor, so the hub may keep it registered between waits.
    check_thread(operation);
    owner_ = std::this_thread::get_id();
    unparked_bytes_ = 0;
}

void GreenSocket::rethrow_named(const char* operation) const
{
    try {
        throw;
    } catch (const IOTimeout&) {
        // The hub's message names a descriptor and a readiness; the
        // caller's names what timed out ("recv on socket 8", "TLS handshake").
        if (!timeout_)
            throw;
        throw IOTimeout(on(operation, fd_) + " timed out after " + detail::seconds_text(*timeout_) + " s");
    }
}

void GreenSocket::park(Readiness want, const char* operation, Tried tried)
{
    before_park(operation);
    try {
        trampoline(fd_, want, timeout_, Registration::until_close, tried);
    } catch (...) {
        rethrow_named(operation);
    }
}

// On the stack of a green thread that switches away inside a call on the
// socket, listed in the socket for that long: the green thread learns from
// it, once resumed, whether the socket is still there. The hub's IOClosed
// cannot tell it: a yield does not park on the hub, and a kill or a Timeout
// thrown into a parked one may come first, from a wait that then forgets
// the close.
struct GreenSocket::Yield {
    GreenSocket* socket; // null once the descriptor is gone: the object may be too
    Yield* next;
    // A write or a handshake that cannot be resumed if abandoned; null for
    // a read, which can, and for a yield, which holds nothing half done.
    const char* tls_operation;

    Yield(GreenSocket& on, const char* tls_operation) noexcept
        : socket(&on), next(on.yields_), tls_operation(tls_operation)
    {
        on.yields_ = this;
    }
    Yield(const Yield&) = delete;
    Yield& operator=(const Yield&) = delete;
    // However the call ends (an exception thrown into it too), the list
    // must not keep this frame; a socket that is gone has no list.
    ~Yield()
    {
        if (socket == nullptr)
            return;
        for (Yield** at = &socket->yields_; *at != nullptr; at = &(*at)->next) {
            if (*at == this) {
                *at = next;
                break;
            }
        }
    }
};

void GreenSocket::yield_if_over_share(const char* operation)
{
    // A closed socket has no descriptor to be fair with: the call fails at once.
    if (unparked_bytes_ < fair_share_bytes || fd_ < 0)
        return;
    // A callback running in the hub cannot yield (and could not park
    // either): it keeps the turn it has.
    Hub* const hub = Hub::existing();
    if (hub != nullptr && &Greenlet::current() == &hub->greenlet())
        return;
    unparked_bytes_ = 0;
    Yield self(*this, nullptr);
    sleep(0);
    if (self.socket == nullptr)
        throw IOClosed(std::string(operation) +
                       ": the socket was closed while its green thread yielded to others "
                       "(or it was moved away)");
}

void GreenSocket::end_yields() noexcept
{
    for (Yield* at = std::exchange(yields_, nullptr); at != nullptr; at = at->next) {
        // Moved away, the engine lives on in another socket, in the middle
        // of the call this one abandons (close() has ended it already).
        if (at->tls_operation != nullptr && tls_)
            tls_->interrupted(at->tls_operation);
        at->socket = nullptr;
    }
}

std::optional<std::size_t> GreenSocket::receive_by_ring(std::span<std::byte> buffer)
{
    before_park("recv");
    // Tells, after the wait, whether this object is still there.
    Yield self(*this, nullptr);
    const int fd = fd_;
    std::size_t landed = 0;
    std::optional<int> result;
    try {
        result = detail::receive_through_ring(Hub::current(), fd, buffer, timeout_, landed);
    } catch (...) {
        if (self.socket == nullptr)
            throw; // closed, moved away or destroyed: nothing of it may be touched
        // A kill or a Timeout that came after the read took its bytes: they
        // are the next read's, as they would be had they stayed in the
        // kernel (a read cancelled in time leaves them there).
        if (landed > 0)
            keep_unread(buffer.first(landed));
        rethrow_named("recv");
    }
    if (!result)
        return std::nullopt;
    const int received = *result;
    if (received >= 0) {
        const auto count = static_cast<std::size_t>(received);
        read_drained_ = stream_ && count > 0 && count < buffer.size();
        unparked_bytes_ += count;
        return count;
    }
    // Cancelled by no one here (a child of fork() whose ring could not take
    // it over), or a kernel that would not wait: the readiness way, then.
    if (received == -ECANCELED || received == -EAGAIN || received == -EINTR)
        return std::nullopt;
    detail::throw_socket_error(-received, on("recv", fd));
}

void GreenSocket::keep_unread(std::span<const std::byte> bytes) noexcept
{
    // Called while an exception ends the read: out of memory, the bytes are
    // lost rather than that exception, which may be the kill unwinding the
    // green thread.
    try {
        if (!unread_)
            unread_ = std::make_unique<std::string>();
        unread_->append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    } catch (const std::bad_alloc&) {
    }
}

std::size_t GreenSocket::take_unread(std::span<std::byte> buffer) noexcept
{
    const std::size_t count = std::min(buffer.size(), unread_->size());
    std::memcpy(buffer.data(), unread_->data(), count);
    unread_->erase(0, count);
    if (unread_->empty())
        unread_.reset();
    unparked_bytes_ += count;
    return count;
}

void GreenSocket::park_for_tls(bool wants_read, const char* operation, bool resumable)
{
    Yield self(*this, resumable ? nullptr : operation);
    try {
        park(wants_read ? Readiness::read : Readiness::write, operation);
    } catch (...) {
        // A read can be asked again with any buffer: OpenSSL writes into it
        // only when it returns data (CPython's ssl module counts on the
        // same). A write must be asked again with the same bytes, and a
        // handshake cut short leaves the connection unchecked: neither may
        // go on. Unless the socket is gone (closed, moved away, destroyed,
        // whatever the exception): then end_yields() saw to the engine,
        // and nothing of the object may be touched.
        if (!resumable && self.socket != nullptr && tls_)
            tls_->interrupted(operation);
        throw;
    }
}

void GreenSocket::start_tls(const tls::Context& context, bool server, const std::string& server_name)
{
    const int fd = checked_fd("TLS handshake");
    if (tls_)
        throw std::logic_error(on("TLS handshake", fd) + ": TLS runs on this socket already");
    tls_ = std::make_unique<tls::detail::Engine>(context, fd, server, server_name);
    for (;;) {
        const tls::detail::Want want = tls_->handshake();
        if (want == tls::detail::Want::nothing)
            break;
        park_for_tls(want == tls::detail::Want::read, "TLS handshake", false);
    }
    tls_->handshake_finished();
}

void GreenSocket::bind(const Address& address)
{
    const int fd = checked_fd("bind");
    const Address target = numeric_for(family(), address, "bind");
    const detail::SocketAddress native = detail::to_sockaddr(target);
    if (::bind(fd, native.get(), native.length) != 0)
        detail::throw_socket_error(errno, "cannot bind to " + target.to_string());
}

void GreenSocket::listen(int backlog)
{
    if (::listen(checked_fd("listen"), backlog) != 0)
        detail::throw_socket_error(errno, on("listen", fd_));
}

void GreenSocket::connect(const Address& address)
{
    checked_fd("connect");
    const Address target = numeric_for(family(), address, "connect");
    const detail::SocketAddress native = detail::to_sockaddr(target);
    const std::string what = "connect to " + target.to_string();
    if (::connect(fd_, native.get(), native.length) == 0)
        return;
    // A non-blocking connect goes on in the kernel (EINPROGRESS, or EINTR
    // if a signal came first); writability says it ended, SO_ERROR how.
    if (errno != EINPROGRESS && errno != EINTR)
        detail::throw_socket_error(errno, what);
    park(Readiness::write, "connect");
    if (const int error = option(SOL_SOCKET, SO_ERROR); error != 0)
        detail::throw_socket_error(error, what);
}

Accepted GreenSocket::accept()
{
    for (;;) {
        const int fd = checked_fd("accept");
        detail::SocketAddress peer;
        peer.length = sizeof peer.storage;
        const int connection = ::accept4(fd, reinterpret_cast<sockaddr*>(&peer.storage),
                                         &peer.length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (connection >= 0) {
            GreenSocket socket(opened(connection), std::nullopt);
            return Accepted{std::move(socket), detail::from_sockaddr(peer.get(), peer.length)};
        }
        // ECONNABORTED: the client gave up while it waited in the backlog;
        // not this listener's fault, so wait for the next one.
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (!would_block(errno))
            detail::throw_socket_error(errno, on("accept", fd));
        park(Readiness::read, "accept", Tried::got_eagain);
    }
}

std::optional<std::size_t> GreenSocket::try_recv(std::span<std::byte> buffer)
{
    if (tls_) {
        checked_fd("recv");
        const tls::detail::Engine::Step step = tls_->read(buffer);
        if (step.want != tls::detail::Want::nothing)
            return std::nullopt;
        unparked_bytes_ += step.bytes;
        return step.bytes;
    }
    for (;;) {
        const int fd = checked_fd("recv");
        if (unread_ && !buffer.empty()) [[unlikely]]
            return take_unread(buffer);
        // Whatever the hub noted before this read, the read spends it.
        Hub* const hub = Hub::existing(); // none yet: nothing was noted, nothing was waited
        const bool noted = hub == nullptr || hub->take_readiness(fd, Readiness::read);
        if (std::exchange(read_drained_, false) && !noted && !buffer.empty())
            return std::nullopt; // the kernel had nothing then, and nothing came since
        const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (n >= 0) {
            read_drained_ = stream_ && n > 0 && static_cast<std::size_t>(n) < buffer.size();
            unparked_bytes_ += static_cast<std::size_t>(n);
            return static_cast<std::size_t>(n);
        }
        if (errno == EINTR)
            continue;
        if (!would_block(errno))
            detail::throw_socket_error(errno, on("recv", fd));
        return std::nullopt;
    }
}

std::optional<std::size_t> GreenSocket::try_recv(std::span<char> buffer)
{
    return try_recv(std::as_writable_bytes(buffer));
}

std::size_t GreenSocket::recv(std::span<std::byte> buffer)
{
    // The kernel answers a read of nothing with EAGAIN when no byte is
    // there (TCP), and the wait that follows would end only when one came.
    if (buffer.empty()) {
        checked_fd("recv");
        return 0;
    }
    yield_if_over_share("recv");
    for (;;) {
        if (tls_) {
            checked_fd("recv");
            const tls::detail::Engine::Step step = tls_->read(buffer);
            if (step.want == tls::detail::Want::nothing) {
                unparked_bytes_ += step.bytes;
                return step.bytes;
            }
            park_for_tls(step.want == tls::detail::Want::read, "recv", true);
            continue;
        }
        if (const std::optional<std::size_t> received = try_recv(buffer))
            return *received;
        if (const std::optional<std::size_t> received = receive_by_ring(buffer))
            return *received;
        park(Readiness::read, "recv", Tried::got_eagain);
    }
}

std::size_t GreenSocket::recv(std::span<char> buffer) { return recv(std::as_writable_bytes(buffer)); }

std::size_t GreenSocket::recv_after_try(std::span<char> buffer)
{
    // With TLS the engine knows what it waits for (a read, or a write of a
    // record it owes the peer): recv() asks it.
    if (!tls_ && !buffer.empty() && !unread_) {
        const std::span<std::byte> bytes = std::as_writable_bytes(buffer);
        if (const std::optional<std::size_t> received = receive_by_ring(bytes))
            return *received;
        park(Readiness::read, "recv", Tried::got_eagain); // recv() does the rest
    }
    return recv(buffer);
}

std::string GreenSocket::recv(std::size_t max_bytes)
{
    // The string is zero-filled before the read: recv(2'000'000'000) for a
    // few bytes would write two gigabytes first. Asking more than the
    // kernel hands over in one read gains nothing, so the buffer is capped.
    std::string result(std::min(max_bytes, max_string_recv), '\0');
    const std::size_t received = recv(std::span<char>(result));
    result.resize(received);
    // A few bytes kept in a 64 KiB buffer would hold it all as long as the
    // caller keeps the string.
    if (result.capacity() - received > 1024 && received < result.capacity() / 2)
        result.shrink_to_fit();
    return result;
}

std::size_t GreenSocket::send(std::span<const std::byte> data)
{
    if (!data.empty())
        yield_if_over_share("send");
    for (;;) {
        const int fd = checked_fd("send");
        if (data.empty())
            return 0;
        if (tls_) {
            const tls::detail::Engine::Step step = tls_->write(data);
            if (step.bytes > 0) {
                // Taken: what the socket did not take of it yet leaves
                // before this call says so.
                for (tls::detail::Want want = step.want; want != tls::detail::Want::nothing;
                     want = tls_->flush("send"))
                    park_for_tls(false, "send", false);
                unparked_bytes_ += step.bytes;
                return step.bytes;
            }
            park_for_tls(step.want == tls::detail::Want::read, "send", false);
            continue;
        }
        // MSG_NOSIGNAL: a peer that went away must give this call EPIPE,
        // not the whole process a SIGPIPE, whose default is to kill it.
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n >= 0) {
            unparked_bytes_ += static_cast<std::size_t>(n);
            return static_cast<std::size_t>(n);
        }
        if (errno == EINTR)
            continue;
        if (!would_block(errno))
            detail::throw_socket_error(errno, on("send", fd));
        park(Readiness::write, "send", Tried::got_eagain);
    }
}

std::size_t GreenSocket::send(std::string_view data) { return send(std::as_bytes(std::span(data))); }

void GreenSocket::sendall(std::span<const std::byte> data)
{
    while (!data.empty())
        data = data.subspan(send(data));
}

void GreenSocket::sendall(std::string_view data) { sendall(std::as_bytes(std::span(data))); }

void GreenSocket::shutdown(Shutdown how)
{
    const int native = how == Shutdown::read ? SHUT_RD : how == Shutdown::write ? SHUT_WR : SHUT_RDWR;
    const int fd = checked_fd("shutdown");
    const bool reading = how != Shutdown::write;
    const bool writing = how != Shutdown::read;
    if (tls_ && writing)
        tls_->send_close_notify();
    if (::shutdown(fd, native) != 0)
        detail::throw_socket_error(errno, on("shutdown", fd_));
    if (!tls_)
        return;
    // From now on the kernel ends reading with an end of file (a parked
    // recv() wakes to it), which TLS would take for a peer gone without
    // close_notify; and it fails writing with EPIPE, which would fail a
    // recv() that must answer the peer (a key update) on the way.
    if (reading)
        tls_->reading_ended();
    if (writing)
        tls_->writing_ended();
}

void GreenSocket::set_option(int level, int name, int value)
{
    if (::setsockopt(checked_fd("setsockopt"), level, name, &value, sizeof value) != 0)
        detail::throw_socket_error(errno, on("setsockopt", fd_));
}

int GreenSocket::option(int level, int name) const
{
    int value = 0;
    socklen_t length = sizeof value;
    if (::getsockopt(checked_fd("getsockopt"), level, name, &value, &length) != 0)
        detail::throw_socket_error(errno, on("getsockopt", fd_));
    return value;
}

Address GreenSocket::local_address() const
{
    detail::SocketAddress local;
    local.length = sizeof local.storage;
    if (::getsockname(checked_fd("getsockname"), reinterpret_cast<sockaddr*>(&local.storage),
                      &local.length) != 0)
        detail::throw_socket_error(errno, on("getsockname", fd_));
    return detail::from_sockaddr(local.get(), local.length);
}

Address GreenSocket::peer_address() const
{
    detail::SocketAddress peer;
    peer.length = sizeof peer.storage;
    if (::getpeername(checked_fd("getpeername"), reinterpret_cast<sockaddr*>(&peer.storage),
                      &peer.length) != 0)
        detail::throw_socket_error(errno, on("getpeername", fd_));
    return detail::from_sockaddr(peer.get(), peer.length);
}

Family GreenSocket::family() const
{
    return option(SOL_SOCKET, SO_DOMAIN) == AF_INET6 ? Family::ipv6 : Family::ipv4;
}

GreenSocket listen(const Address& address, int backlog)
{
    return listen(address, ListenOptions{.backlog = backlog});
}

GreenSocket listen(const Address& address, const ListenOptions& options)
{
    const Address where = resolve(address).front();
    GreenSocket socket(family_of(where));
    socket.set_reuse_address(true);
    if (options.reuse_port) // before bind(): the kernel checks it there
        socket.set_reuse_port(true);
    socket.bind(where);
    socket.listen(options.backlog);
    return socket;
}

GreenSocket connect(const Address& address, std::optional<Seconds> timeout)
{
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    auto remaining = [&]() -> std::optional<Seconds> {
        if (!timeout)
            return std::nullopt;
        return Seconds(timeout->count() - std::chrono::duration<double>(Clock::now() - start).count());
    };
    std::exception_ptr last_error;
    for (const Address& candidate : resolve(address, timeout)) {
        GreenSocket socket(family_of(candidate));
        socket.set_timeout(remaining());
        try {
            socket.connect(candidate);
        } catch (const SocketError&) {
            // Refused on ::1 may well work on 127.0.0.1: try the next one.
            last_error = std::current_exception();
            continue;
        } catch (const IOTimeout&) {
            // The socket's own message speaks of the time that was left,
            // which may have run out before it tried ("its timeout is zero").
            if (!timeout || timeout->count() <= 0)
                throw;
            throw IOTimeout("connect to " + candidate.to_string() + " timed out after " +
                            detail::seconds_text(*timeout) + " s");
        }
        socket.set_timeout(std::nullopt);
        return socket;
    }
    if (!last_error) // resolve() never returns nothing, but rethrowing null is undefined
        throw ResolveError(std::make_error_code(std::errc::address_not_available),
                           "'" + address.to_string() + "' has no address");
    std::rethrow_exception(last_error);
}

namespace tls::detail {

void Access::start(GreenSocket& socket, const Context& context, bool server, const std::string& server_name)
{
    socket.start_tls(context, server, server_name);
}

const Engine* Access::engine(const GreenSocket& socket) noexcept { return socket.tls_.get(); }

} // namespace tls::detail

} // namespace eventlet
