// llhttp driven one request at a time: callbacks pause the parser at the
// end of the header section and at the end of each request.
#include "wsgi/request_parser.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "eventlet/wsgi/headers.hpp"
#include "eventlet/wsgi/http_error.hpp"

namespace eventlet::wsgi::detail {
namespace {

// RFC 3986 section 2.3 (unreserved) and 2.2 (sub-delims): the bytes of a
// reg-name, '%' of its pct-encoded ones aside.
bool is_host_name_byte(char c) noexcept
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return std::string_view("-._~!$&'()*+,;=%").find(c) != std::string_view::npos;
}

// RFC 9112 section 3.2: Host = uri-host [ ":" port ], the host a reg-name
// (an IPv4 address is one too) or an IP-literal in brackets (IPv6, or
// IPvFuture: the same bytes and ':'). Empty is allowed: a target without
// an authority has an empty Host.
bool is_host_field_value(std::string_view host) noexcept
{
    std::string_view name = host;
    std::string_view port;
    bool literal = false;
    if (host.starts_with('[')) {
        const std::size_t close = host.find(']');
        if (close == std::string_view::npos)
            return false;
        name = host.substr(1, close - 1);
        const std::string_view rest = host.substr(close + 1);
        if (!rest.empty() && rest.front() != ':')
            return false;
        port = rest.empty() ? rest : rest.substr(1);
        literal = true;
    } else if (const std::size_t colon = host.find(':'); colon != std::string_view::npos) {
        name = host.substr(0, colon);
        port = host.substr(colon + 1);
    }
    const auto name_byte = [literal](char c) { return is_host_name_byte(c) || (literal && c == ':'); };
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    return std::ranges::all_of(name, name_byte) && std::ranges::all_of(port, digit) && (!literal || !name.empty());
}

// The CRs in a piece of a line (most pieces hold one, the last byte before
// the line's LF).
std::size_t count_carriage_returns(std::string_view piece) noexcept
{
    std::size_t count = 0;
    for (std::size_t at = piece.find('\r'); at != std::string_view::npos; at = piece.find('\r', at + 1))
        ++count;
    return count;
}

} // namespace

RequestParser::RequestParser(const Limits& limits) : limits_(limits), chunk_line_(limits.max_header_bytes)
{
    llhttp_init(&parser_, HTTP_REQUEST, &settings());
    parser_.data = this;
}

const llhttp_settings_t& RequestParser::settings()
{
    static const llhttp_settings_t callbacks = [] {
        llhttp_settings_t s;
        llhttp_settings_init(&s);
        s.on_message_begin = on_message_begin;
        s.on_method = on_method;
        s.on_url = on_url;
        s.on_version = on_version;
        s.on_version_complete = on_version_complete;
        s.on_header_field = on_header_field;
        s.on_header_value = on_header_value;
        s.on_header_value_complete = on_header_value_complete;
        s.on_headers_complete = on_headers_complete;
        s.on_body = on_body;
        s.on_chunk_header = on_chunk_header;
        s.on_chunk_complete = on_chunk_complete;
        s.on_message_complete = on_message_complete;
        return s;
    }();
    return callbacks;
}

RequestParser& RequestParser::self(llhttp_t* parser) noexcept
{
    return *static_cast<RequestParser*>(parser->data);
}

std::size_t RequestParser::feed(std::string_view data)
{
    if (stage_ != Stage::body)
        return execute(data);
    // A body: llhttp stops after each chunk, and the size line that follows
    // goes through chunk_line_, which keeps its extensions from llhttp.
    // (llhttp is given no data at least once: the server calls feed() with
    // none to end a request without a body.)
    std::size_t taken = 0;
    do {
        const std::string_view rest = data.substr(taken);
        if (!chunk_line_.active()) {
            taken += execute(rest);
            continue;
        }
        if (rest.empty())
            break;
        const auto [action, length] = chunk_line_.step(rest);
        using Action = eventlet::detail::ChunkLineFilter::Action;
        if (action == Action::malformed)
            throw HttpError(400, "malformed request: invalid chunk extension");
        if (action == Action::too_long)
            throw HttpError(400, "the chunk extensions exceed " + std::to_string(limits_.max_header_bytes) + " bytes");
        if (action == Action::long_size)
            throw HttpError(400, "malformed request: a chunk size of more than " +
                                     std::to_string(eventlet::detail::ChunkLineFilter::max_size_digits) + " digits");
        taken += action == Action::pass && length > 0 ? execute(rest.substr(0, length)) : length;
    } while (taken < data.size() && stage_ == Stage::body);
    return taken;
}

std::size_t RequestParser::execute(std::string_view data)
{
    if (trailers_)
        return execute_trailers(data);
    const bool in_head = stage_ == Stage::idle || stage_ == Stage::head;
    // Inside the header section, one byte past a limit is enough to know
    // it is too long: the rest stays unread. (Written so that a limit of
    // SIZE_MAX does not wrap: "left + 1" would be 0, and nothing parsed.)
    HeadScan scan = scan_;
    HeadCut cut;
    if (in_head) {
        const std::size_t left = limits_.max_header_bytes - std::min(head_bytes_, limits_.max_header_bytes);
        if (left < data.size())
            data = data.substr(0, left + 1);
        cut = cut_head(data, scan);
        data = data.substr(0, cut.at);
    }
    const std::size_t taken = run_llhttp(data);
    if (in_head) {
        head_bytes_ += taken;
        if (head_bytes_ > limits_.max_header_bytes)
            throw HttpError(431, "the header section exceeds " + std::to_string(limits_.max_header_bytes) + " bytes");
        // llhttp took every byte up to the cut (a fold, or the byte past a
        // line's limit), with no error and no end of the section before it.
        // (Taken short, the section has ended, and the next one starts afresh.)
        if (stage_ == Stage::idle || stage_ == Stage::head) {
            if (cut.fold)
                throw HttpError(400, "malformed request: a header line folded onto the one before (obs-fold)");
            if (cut.at != std::string_view::npos)
                refuse_long_line(scan);
            scan_ = scan;
        }
    }
    return taken;
}

std::size_t RequestParser::run_llhttp(std::string_view data)
{
    const llhttp_errno_t error = llhttp_execute(&parser_, data.data(), data.size());
    std::size_t taken = data.size();
    if (error == HPE_PAUSED || error == HPE_PAUSED_UPGRADE) {
        taken = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data.data());
        // After a request with "Connection: Upgrade" (a WebSocket's, h2c's)
        // llhttp stops: what follows would be the new protocol's. We never
        // answer 101 Switching Protocols, so the client still speaks HTTP/1.1
        // on this connection (RFC 9110 section 7.8 lets a server ignore
        // Upgrade), and the next request is parsed as any. CONNECT stops
        // llhttp too; its connection is not kept (StartResponse).
        if (error == HPE_PAUSED_UPGRADE)
            llhttp_resume_after_upgrade(&parser_);
        else
            llhttp_resume(&parser_);
    } else if (error != HPE_OK) {
        fail(error);
    }
    return taken;
}

std::size_t RequestParser::execute_trailers(std::string_view data)
{
    // The trailer fields are dropped, yet each byte of them would extend
    // the body's deadline: a client sending them without end would hold
    // the connection for ever. They count as a header section does.
    const std::size_t left = limits_.max_header_bytes - std::min(trailer_bytes_, limits_.max_header_bytes);
    if (left < data.size())
        data = data.substr(0, left + 1);
    const std::size_t taken = run_llhttp(data);
    trailer_bytes_ += taken;
    if (trailer_bytes_ > limits_.max_header_bytes)
        throw HttpError(431, "the trailer section exceeds " + std::to_string(limits_.max_header_bytes) + " bytes");
    return taken;
}

void RequestParser::finish()
{
    if (stage_ == Stage::idle || stage_ == Stage::done)
        return;
    const llhttp_errno_t error = llhttp_finish(&parser_);
    if (error == HPE_PAUSED)
        llhttp_resume(&parser_);
    else if (error != HPE_OK)
        fail(error);
    if (stage_ != Stage::done)
        throw HttpError(400, "the connection ended inside the request");
}

void RequestParser::fail(llhttp_errno_t error)
{
    if (refusal_ != 0)
        throw HttpError(refusal_, refusal_reason_);
    const char* reason = llhttp_get_error_reason(&parser_);
    // llhttp says "Invalid HTTP version" of a well-formed version it does
    // not speak (HTTP/1.2, HTTP/3.0), and other things of malformed ones.
    if (error == HPE_INVALID_VERSION && std::strcmp(reason, "Invalid HTTP version") == 0)
        throw HttpError(505, "HTTP/" + version_ + " is not supported");
    throw HttpError(400, std::string("malformed request: ") + reason);
}

int RequestParser::refuse(int status, std::string reason)
{
    refusal_ = status;
    refusal_reason_ = std::move(reason);
    return -1;
}

RequestParser::HeadCut RequestParser::cut_head(std::string_view data, HeadScan& scan) const noexcept
{
    // Lines are counted on the bytes as they come, not on what llhttp hands
    // the callbacks: it hands a line's pieces over when their span ends or
    // when the data does, and not at all when a malformed byte stops it
    // first, so a count of them would depend on how the reads split the
    // line. This one gives the same answer however they split it.
    //
    // And llhttp 8.1 takes a line that begins with white space as more of
    // the field before (obs-fold, RFC 9112 section 5.2), or drops the white
    // space before a first field's name: " Content-Length: 5" goes into the
    // Host above it, where a front end that does not fold sees a length.
    // Two readings of one stream are how request smuggling starts, so the
    // fold is refused (as the RFC allows) before llhttp sees it. Past the
    // end of the section a "fold" is the body's: llhttp stops before it.
    //
    // The scan goes a line at a time (memchr finds its end): a head is
    // scanned in full on every request, and a loop over its bytes costs
    // more than llhttp's own parsing of them.
    std::size_t at = 0;
    while (at < data.size()) {
        if (scan.at_start && scan.request_line_done && (data[at] == ' ' || data[at] == '\t'))
            return {at, true};
        const std::string_view rest = data.substr(at);
        const std::size_t length = std::min(rest.find('\n'), rest.size()); // the line's bytes here
        const std::string_view piece = rest.substr(0, length);
        const std::size_t limit = scan.request_line_done ? limits_.max_header_line : limits_.max_request_line;
        const std::size_t counted = length - count_carriage_returns(piece);
        if (counted > limit - scan.bytes) {
            // Past the limit inside this piece: the byte that takes it past.
            std::size_t i = 0;
            for (std::size_t bytes = scan.bytes; bytes <= limit; ++i)
                bytes += piece[i] != '\r';
            return {at + i, false};
        }
        scan.bytes += counted;
        at += length;
        scan.at_start = false;
        if (at < data.size()) { // the line ends here
            // Empty lines before the request line are allowed (RFC 9112
            // section 2.2); one after it ends the section.
            scan.request_line_done = scan.request_line_done || scan.bytes > 0;
            scan.bytes = 0;
            scan.at_start = true;
            ++at;
        }
    }
    return {};
}

void RequestParser::refuse_long_line(const HeadScan& scan) const
{
    if (!scan.request_line_done)
        throw HttpError(414, "the request line exceeds " + std::to_string(limits_.max_request_line) + " bytes");
    // RFC 6585 section 5 asks to say which field it was. Its name so far
    // (llhttp hands over the piece it holds when the data ends) is a token,
    // each byte checked by llhttp: safe to echo.
    constexpr std::size_t shown = 40;
    const std::string name = field_.size() > shown ? field_.substr(0, shown) + "..." : field_;
    throw HttpError(431, (name.empty() ? std::string("a header field") : "the header field '" + name + "'") +
                             " exceeds " + std::to_string(limits_.max_header_line) + " bytes");
}

void RequestParser::next()
{
    stage_ = Stage::idle;
    head_bytes_ = 0;
    scan_ = HeadScan();
    body_bytes_ = 0;
    trailers_ = false;
    trailer_bytes_ = 0;
    body_.clear();
    body_start_ = 0;
    refusal_ = 0;
    refusal_reason_.clear();
}

std::size_t RequestParser::take_body(std::span<char> out) noexcept
{
    const std::size_t n = std::min(out.size(), body_buffered());
    std::memcpy(out.data(), body_.data() + body_start_, n);
    body_start_ += n;
    if (body_start_ == body_.size()) {
        body_.clear();
        body_start_ = 0;
    }
    return n;
}

int RequestParser::on_message_begin(llhttp_t* parser)
{
    RequestParser& p = self(parser);
    p.stage_ = Stage::head;
    p.chunk_line_.reset();
    // The request is answered in place, and its strings and fields keep
    // their memory for the next one: a fresh Request would cost an
    // allocation or more per request.
    Request& request = p.request_;
    request.method.clear();
    request.target.clear();
    request.path.clear();
    request.query.clear();
    request.version.clear();
    request.headers.clear();
    request.input = Input();
    p.version_.clear();
    p.field_.clear();
    p.value_.clear();
    return 0;
}

int RequestParser::on_method(llhttp_t* parser, const char* at, std::size_t length)
{
    self(parser).request_.method.append(at, length);
    return 0;
}

int RequestParser::on_url(llhttp_t* parser, const char* at, std::size_t length)
{
    self(parser).request_.target.append(at, length);
    return 0;
}

int RequestParser::on_version(llhttp_t* parser, const char* at, std::size_t length)
{
    self(parser).version_.append(at, length);
    return 0;
}

int RequestParser::on_version_complete(llhttp_t* parser)
{
    RequestParser& p = self(parser);
    p.request_.version = "HTTP/" + p.version_;
    return 0;
}

int RequestParser::on_header_field(llhttp_t* parser, const char* at, std::size_t length)
{
    RequestParser& p = self(parser);
    if (p.stage_ == Stage::head) // not a trailer field of a chunked body: those are dropped
        p.field_.append(at, length);
    return 0;
}

int RequestParser::on_header_value(llhttp_t* parser, const char* at, std::size_t length)
{
    RequestParser& p = self(parser);
    if (p.stage_ == Stage::head)
        p.value_.append(at, length);
    return 0;
}

int RequestParser::on_header_value_complete(llhttp_t* parser)
{
    RequestParser& p = self(parser);
    if (p.stage_ != Stage::head)
        return 0;
    // llhttp takes ": value" as a field of no name (RFC 9112 section 5
    // wants a token there).
    if (p.field_.empty())
        return p.refuse(400, "malformed request: a header field without a name");
    // Each field costs two strings, however short: ~16k fields of "a:" fit
    // in 64 KiB and cost 1 MiB. http.client stops at 100, and so do we.
    if (p.request_.headers.size() == p.limits_.max_header_fields)
        return p.refuse(431, "more than " + std::to_string(p.limits_.max_header_fields) + " header fields");
    // llhttp keeps the spaces that end a value (RFC 9110 says to drop them).
    while (!p.value_.empty() && (p.value_.back() == ' ' || p.value_.back() == '\t'))
        p.value_.pop_back();
    p.request_.headers.add(std::move(p.field_), std::move(p.value_));
    p.field_.clear();
    p.value_.clear();
    return 0;
}

int RequestParser::on_headers_complete(llhttp_t* parser)
{
    RequestParser& p = self(parser);
    if (p.version_.empty()) // HTTP/0.9's "GET /": no version at all
        p.version_ = "0.9";
    if (p.version_ != "1.0" && p.version_ != "1.1") {
        p.refusal_ = 505;
        p.refusal_reason_ = "HTTP/" + p.version_ + " is not supported";
        return -1;
    }
    // RFC 9112 section 3.2: an HTTP/1.1 request has exactly one Host; the
    // server must answer 400 to none, or more than one.
    if (p.version_ == "1.1") {
        const auto hosts = std::ranges::count_if(
            p.request_.headers, [](const Headers::Field& field) { return iequals(field.first, "Host"); });
        if (hosts != 1)
            return p.refuse(400, hosts == 0 ? "an HTTP/1.1 request needs a Host header"
                                            : "more than one Host header");
    }
    // The same section: a Host that is no host and port gets 400 too. The
    // application would take "a b" or "a/b" for a name to build URLs with.
    for (const Headers::Field& field : p.request_.headers) {
        if (iequals(field.first, "Host") && !is_host_field_value(field.second))
            return p.refuse(400, "malformed request: the Host is not a host and port");
    }
    if (const int refused = p.check_transfer_codings(); refused != 0)
        return refused;
    if ((parser->flags & F_CONTENT_LENGTH) != 0 && parser->content_length > p.limits_.max_body_bytes) {
        p.refusal_ = 413;
        p.refusal_reason_ = "the body of " + std::to_string(parser->content_length) +
                            " bytes exceeds the limit of " + std::to_string(p.limits_.max_body_bytes);
        return -1;
    }
    p.stage_ = Stage::body;
    // A chunked body begins with a size line (llhttp reads no body for a
    // CONNECT: what follows its head is the tunnel's).
    if ((parser->flags & F_CHUNKED) != 0 && !(parser->upgrade && parser->method == HTTP_CONNECT))
        p.chunk_line_.start();
    return HPE_PAUSED;
}

int RequestParser::check_transfer_codings()
{
    for (const Headers::Field& field : request_.headers) {
        if (!iequals(field.first, "Transfer-Encoding"))
            continue;
        bool coded = false;
        std::string_view codings = field.second;
        while (!codings.empty()) {
            const std::size_t comma = std::min(codings.find(','), codings.size());
            const std::string_view coding = trim_whitespace(codings.substr(0, comma));
            codings.remove_prefix(std::min(comma + 1, codings.size()));
            if (coding.empty()) // an empty list element: ignored (RFC 9110 section 5.6.1)
                continue;
            // llhttp decodes chunked, the last coding, and lets others before
            // it through ("gzip, chunked"): the application would get a body
            // still compressed, as if it were the data. RFC 9112 6.1: 501.
            if (!iequals(coding, "chunked"))
                return refuse(501, "the transfer coding '" + std::string(coding) +
                                       "' is not supported (only chunked is)");
            coded = true;
        }
        // llhttp ignores a field of no coding: "Transfer-Encoding: " beside
        // a Content-Length, or before a chunked body, reads the body by the
        // length, or as empty, where a front end may read it as chunked
        // (request smuggling). Its final coding is not chunked, so RFC 9112
        // section 6.3 wants a 400 and the close.
        if (!coded)
            return refuse(400, "malformed request: a Transfer-Encoding field without a transfer coding");
    }
    return 0;
}

int RequestParser::on_body(llhttp_t* parser, const char* at, std::size_t length)
{
    RequestParser& p = self(parser);
    p.body_bytes_ += length;
    if (p.body_bytes_ > p.limits_.max_body_bytes) {
        p.refusal_ = 413;
        p.refusal_reason_ = "the body exceeds the limit of " + std::to_string(p.limits_.max_body_bytes) + " bytes";
        return HPE_USER;
    }
    p.body_.append(at, length);
    return 0;
}

// The last chunk's size line (a size of 0) is followed by the trailer
// section: llhttp stops there, for execute() to count it from its start.
int RequestParser::on_chunk_header(llhttp_t* parser)
{
    if (parser->content_length != 0)
        return 0;
    self(parser).trailers_ = true;
    return HPE_PAUSED;
}

// A chunk but the last is followed by another's size line: llhttp stops
// there, for feed() to pass it through chunk_line_. (The last chunk's
// completes after its trailer section, just before the request does.)
int RequestParser::on_chunk_complete(llhttp_t* parser)
{
    if ((parser->flags & F_TRAILING) != 0)
        return 0;
    self(parser).chunk_line_.start();
    return HPE_PAUSED;
}

int RequestParser::on_message_complete(llhttp_t* parser)
{
    self(parser).stage_ = Stage::done;
    return HPE_PAUSED;
}

} // namespace eventlet::wsgi::detail
