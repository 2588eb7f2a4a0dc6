// The response: status and headers held back until the first byte of body,
// the framing chosen when they go out.
#include "eventlet/wsgi/start_response.hpp"

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <utility>

#include "eventlet/errors.hpp"

namespace eventlet::wsgi {
namespace {

// RFC 9110 section 5.6.2: what a token (a field's name) is made of.
bool is_token_byte(unsigned char c) noexcept
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_field_name(std::string_view name) noexcept
{
    const auto token_byte = [](char c) { return is_token_byte(static_cast<unsigned char>(c)); };
    return !name.empty() && std::ranges::all_of(name, token_byte);
}

// RFC 9110 section 5.5 (a field's value) and RFC 9112 section 4 (a reason
// phrase): no control byte but HTAB. A CR or LF would let the text forge
// header lines; a NUL or another control byte cuts or confuses it in many
// a client. Bytes past ASCII (obs-text) pass.
bool is_field_text(std::string_view text) noexcept
{
    return std::ranges::none_of(text, [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return (byte < 0x20 && byte != '\t') || byte == 0x7F;
    });
}

// "200 OK" -> 200; 0 if it is not a 3-digit code, a space and a phrase.
int parse_status(std::string_view status) noexcept
{
    int code = 0;
    if (status.size() < 5 || status[3] != ' ')
        return 0;
    const auto [end, error] = std::from_chars(status.data(), status.data() + 3, code);
    if (error != std::errc() || end != status.data() + 3 || code < 100 || code > 999)
        return 0;
    return code;
}

// The Date header's format (RFC 9110's IMF-fixdate), written by hand: the
// names of strftime's %a and %b follow the program's locale. Written once a
// second rather than once a response (per thread: each hub has its own).
const std::string& http_date()
{
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    thread_local std::time_t written_for = -1;
    thread_local std::string date;
    const std::time_t now = std::time(nullptr);
    if (now != written_for) {
        std::tm utc{};
        ::gmtime_r(&now, &utc);
        char text[40];
        std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[utc.tm_wday],
                      utc.tm_mday, months[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min,
                      utc.tm_sec);
        date = text;
        written_for = now;
    }
    return date;
}

// Up to this size a piece of body is copied to go out in one send with what
// comes before it (the head, the chunk's size line); a larger one goes out
// alone, so that the server holds no second copy of it.
constexpr std::size_t small_piece = 16 * 1024;

// The buffer a head is written into. Most heads go out at once, in one send
// with the body they precede: one spare buffer per thread, taken as a head is
// written and given back after its send, spares each of them an allocation.
// A head whose send parks keeps its buffer meanwhile, and a head written then
// takes a new one.
class HeadBuffers {
public:
    static std::string take()
    {
        std::string buffer;
        if (Spare* const spare = Spare::of_this_thread())
            buffer = std::exchange(spare->buffer, std::string());
        buffer.clear();
        buffer.reserve(256);
        return buffer;
    }
    static void give_back(std::string&& buffer) noexcept
    {
        // A buffer grown by a large piece of body is not kept for the heads.
        if (buffer.capacity() > small_piece + 1024)
            return;
        Spare* const spare = Spare::of_this_thread();
        if (spare != nullptr && spare->buffer.capacity() < buffer.capacity())
            spare->buffer = std::move(buffer);
    }

private:
    struct Spare {
        std::string buffer;
        ~Spare() { spare_gone = true; }
        // Null once the thread's spare is destroyed, during the thread's exit:
        // a send unwound after that (by the destructor of the thread's hub,
        // another thread_local) keeps its buffer to itself.
        static Spare* of_this_thread() noexcept
        {
            if (spare_gone)
                return nullptr;
            thread_local Spare spare;
            return &spare;
        }
    };
    // A plain flag, readable after every thread_local with a destructor is gone.
    static constinit thread_local bool spare_gone;
};

constinit thread_local bool HeadBuffers::spare_gone = false;

std::string chunk_size_line(std::size_t size)
{
    char digits[20];
    const auto end = std::to_chars(digits, digits + sizeof digits, size, 16).ptr;
    return std::string(digits, end) + "\r\n";
}

} // namespace

StartResponse::StartResponse(GreenSocket& socket, const Request& request)
    : socket_(&socket),
      head_request_(request.method == "HEAD"),
      http11_(request.version == "HTTP/1.1"),
      // After CONNECT the client may take the connection for the tunnel it
      // asked for, whatever the answer: nothing it sends next can be trusted
      // to be a request. An HTTP/1.0 request with a Transfer-Encoding (a
      // coding 1.0 does not know) came through a faulty intermediary,
      // whose framing of the next request is not to be trusted either
      // (RFC 9112 section 6.1).
      client_keep_alive_(request.method != "CONNECT" &&
                         (http11_ ? !request.headers.has_token("Connection", "close")
                                  : request.headers.has_token("Connection", "keep-alive") &&
                                        !request.headers.contains("Transfer-Encoding")))
{
}

void StartResponse::operator()(std::string status, Headers headers)
{
    if (headers_sent_)
        throw std::logic_error("start_response called after the headers went out (status '" +
                               status + "')");
    const int code = parse_status(status);
    if (code == 0 || !is_field_text(status))
        throw std::invalid_argument("not an HTTP status: '" + status + "' (want \"200 OK\")");
    // An informational status is no answer: the client would wait on for
    // the final one (the server sends 100 Continue itself). Nor is a code
    // past 599 one (RFC 9110 15).
    if (code < 200 || code > 599)
        throw std::invalid_argument("'" + status + "' is not a final status (200 to 599)");
    for (const auto& [name, value] : headers) {
        if (!is_field_name(name) || !is_field_text(value))
            throw std::invalid_argument("not a valid header field: '" + name + "'");
    }
    code_ = code;
    status_ = std::move(status);
    headers_ = std::move(headers);
}

void StartResponse::send_head()
{
    if (!started())
        throw std::logic_error("the application sent a body without calling start_response");
    // The framing is the server's: an application's coding would go out
    // beside the server's own (a Content-Length, or chunked a second time),
    // or without the server's chunking of the body, or to HTTP/1.0, which
    // knows no transfer coding; the client would read the body wrongly.
    // Refused as a malformed Content-Length is, before a byte went out.
    if (headers_.contains("Transfer-Encoding"))
        throw std::invalid_argument("the application set Transfer-Encoding: the server frames the body itself");
    // Statuses that never carry a body (RFC 9110 6.4.1) get no framing.
    no_body_ = code_ < 200 || code_ == 204 || code_ == 304;
    bool delimited = true;
    // The head is written once, in place: a head of a few fields made of
    // temporary strings cost more allocations than the rest of an exchange.
    std::string head = HeadBuffers::take();
    const auto add = [&head](std::string_view name, std::string_view value) {
        head.append(name).append(": ").append(value).append("\r\n");
    };
    head.append("HTTP/1.1 ").append(status_).append("\r\n");
    bool length_field = false; // the server's Content-Length (the whole body's)
    // RFC 9110 section 8.6: a 204 has no Content-Length (a 304 may have
    // one: the length a 200 would have had).
    if (const auto length = headers_.get("Content-Length"); length && code_ != 204) {
        const std::string_view digits = trim_whitespace(*length);
        std::size_t value = 0;
        const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (digits.empty() || error != std::errc() || end != digits.data() + digits.size())
            throw std::invalid_argument("not a Content-Length: '" + *length + "'");
        declared_length_ = value;
    } else if (no_body_) {
    } else if (whole_length_) {
        declared_length_ = whole_length_;
        length_field = true;
    } else if (http11_) {
        chunked_ = true;
    } else {
        delimited = false; // the close of the connection ends the body
    }
    keep_alive_ = client_keep_alive_ && keep_alive_allowed_ && delimited &&
                  !headers_.has_token("Connection", "close");
    // The application's fields, then the server's.
    for (const auto& [name, value] : headers_) {
        if (!overridden(name))
            add(name, value);
    }
    if (length_field) {
        char digits[24];
        const auto end = std::to_chars(digits, digits + sizeof digits, *whole_length_).ptr;
        add("Content-Length", std::string_view(digits, static_cast<std::size_t>(end - digits)));
    } else if (chunked_) {
        add("Transfer-Encoding", "chunked");
    }
    if (!headers_.contains("Date"))
        add("Date", http_date());
    if (!keep_alive_)
        add("Connection", "close");
    else if (!http11_ && !headers_.has_token("Connection", "keep-alive"))
        add("Connection", "keep-alive");
    head.append("\r\n");
    headers_sent_ = true;
    unsent_head_ = std::move(head);
}

bool StartResponse::overridden(std::string_view name) const noexcept
{
    // The connection closing, the application's Connection goes: a
    // "keep-alive" in it beside the server's "close" is believed by some
    // clients (Python's http.client), which then reuse a closed socket.
    // A 204's Content-Length goes too (see send_head()).
    return (!keep_alive_ && iequals(name, "Connection")) || (code_ == 204 && iequals(name, "Content-Length"));
}

void StartResponse::send_bytes(std::string_view bytes)
{
    // An earlier send stopped partway: what follows would land inside the
    // bytes the client still expects, and read as part of them.
    if (broken_)
        throw std::logic_error("the response's connection broke under an earlier write: nothing more can be sent");
    std::string with_head;
    const struct GiveBack {
        std::string& buffer;
        ~GiveBack() { HeadBuffers::give_back(std::move(buffer)); }
    } give_back{with_head};
    if (!unsent_head_.empty()) {
        with_head = std::exchange(unsent_head_, {});
        // A large piece goes on its own: copied behind the head, a body of
        // 500 MB would be held twice.
        if (bytes.size() > small_piece) {
            send_bytes(with_head);
            with_head.clear();
        } else {
            with_head += bytes;
            bytes = with_head;
        }
    }
    if (bytes.empty())
        return;
    // Whatever stops a send (the client gone or too slow, or the
    // application's own Timeout or kill) may stop it partway.
    try {
        send_within_limit(bytes);
    } catch (...) {
        broken_ = true;
        throw;
    }
}

std::int64_t StartResponse::acknowledged_by_client() const noexcept
{
    // What the kernel holds unacknowledged (SIOCOUTQ; for TLS, record
    // overhead too, which only makes the count smaller) has not reached the
    // client. It may also hold the end of an earlier response on the
    // connection, which makes the count negative until the client has that.
    int unacknowledged = 0;
    if (::ioctl(socket_->fd(), SIOCOUTQ, &unacknowledged) != 0 || unacknowledged < 0)
        unacknowledged = 0;
    return static_cast<std::int64_t>(bytes_taken_) - unacknowledged;
}

void StartResponse::send_within_limit(std::string_view bytes)
{
    if (!send_first_) {
        socket_->sendall(bytes);
        return;
    }
    using Clock = std::chrono::steady_clock;
    using Span = std::chrono::duration<double>;
    // One reading of the clock for the response's start and its first try,
    // which most often sends it all (a reading is tens of nanoseconds, a
    // few percent of a small exchange's time in user space).
    auto now = Clock::now();
    if (bytes_taken_ == 0) {
        send_started_ = now;
        acknowledgements_measured_ = false;
    }
    // Each wait within the socket's own timeout and the time left, which
    // each byte the client takes extends: sendall() alone bounds only each
    // wait, and a client taking a byte a minute would hold the connection
    // for ever. A client whose buffers are full takes nothing more: so that
    // it is cut off after `first` however much it took before, the time since
    // its last progress is bounded too.
    const std::optional<Seconds> per_wait = socket_->timeout();
    struct Restore {
        GreenSocket& socket;
        std::optional<Seconds> timeout;
        ~Restore() { socket.set_timeout(timeout); }
    } restore{*socket_, per_wait};
    // The client's progress is measured (a system call) only once the socket
    // refused bytes: until then the client kept up, and most responses go
    // out in one send.
    bool refused = false;
    for (bool first_try = true; !bytes.empty(); first_try = false) {
        if (!first_try)
            now = Clock::now();
        if (refused) {
            // Progress: the client acknowledged more, or has nothing left to
            // (the application, not the client, kept the response waiting).
            const std::int64_t acknowledged = acknowledged_by_client();
            if (!acknowledgements_measured_ || acknowledged > bytes_acknowledged_ ||
                acknowledged == static_cast<std::int64_t>(bytes_taken_)) {
                bytes_acknowledged_ = acknowledged;
                last_acknowledged_ = now;
                acknowledgements_measured_ = true;
            }
        }
        const double first = send_first_->count();
        const double credit = send_min_rate_ > 0 && acknowledgements_measured_ && bytes_acknowledged_ > 0
                                  ? static_cast<double>(bytes_acknowledged_) / send_min_rate_
                                  : 0;
        double left = first + credit - Span(now - send_started_).count();
        if (acknowledgements_measured_)
            left = std::min(left, first - Span(now - last_acknowledged_).count());
        // Past the limit, what the socket takes without waiting still goes
        // out: the limit is on waiting for a client that does not read, and
        // a limit of zero (or a few nanoseconds) would otherwise send nothing
        // at all, even to a client that reads.
        const bool socket_wait_first = per_wait && per_wait->count() < left;
        socket_->set_timeout(left <= 0 ? 0.0 : (socket_wait_first ? per_wait->count() : left));
        std::size_t sent = 0;
        try {
            sent = socket_->send(bytes);
        } catch (const IOTimeout&) {
            if (left <= 0)
                throw TimeoutError("the client took the response too slowly");
            if (socket_wait_first)
                throw;
            refused = true;
            continue; // our limit came first: measure the client's progress again
        }
        refused = refused || sent < bytes.size();
        bytes_taken_ += sent;
        bytes.remove_prefix(sent);
    }
}

void StartResponse::write(std::string_view data)
{
    if (finished_)
        throw std::logic_error("write after the response ended");
    if (data.empty())
        return;
    if (!headers_sent_)
        send_head();
    if (declared_length_ && body_bytes_ + data.size() > *declared_length_)
        throw std::logic_error("the body exceeds its Content-Length of " +
                               std::to_string(*declared_length_) + " bytes");
    body_bytes_ += data.size();
    if (head_request_ || no_body_)
        return;
    if (chunked_ && data.size() > small_piece) { // not copied into its framing: see send_bytes()
        send_bytes(chunk_size_line(data.size()));
        send_bytes(data);
        send_bytes("\r\n");
    } else if (chunked_) {
        send_bytes(chunk_size_line(data.size()) + std::string(data) + "\r\n");
    } else {
        send_bytes(data);
    }
}

void StartResponse::send(Body& body)
{
    // A body known whole has a known length: a Content-Length spares the
    // client the chunk framing.
    whole_length_ = body.length();
    while (std::optional<std::string> piece = body.next())
        write(*piece);
    finish();
}

void StartResponse::finish()
{
    if (finished_)
        return;
    if (!headers_sent_) {
        whole_length_ = 0; // nothing was written, and nothing will be
        send_head();
    }
    finished_ = true;
    if (chunked_ && !head_request_)
        send_bytes("0\r\n\r\n");
    else
        send_bytes({}); // the head, if it is still waiting for a body
    // A body shorter than its Content-Length leaves the client waiting
    // for the rest: only the close can tell it.
    if (declared_length_ && body_bytes_ < *declared_length_ && !head_request_ && !no_body_)
        keep_alive_ = false;
}

} // namespace eventlet::wsgi
