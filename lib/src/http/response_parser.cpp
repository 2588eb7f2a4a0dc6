// Parsing one HTTP response with llhttp: the callbacks store what it finds.
#include "http/response_parser.hpp"

#include <string>

namespace eventlet::http::detail {
namespace {

// A header value's trailing white space belongs to the syntax, not the value.
void trim_trailing_space(std::string& text)
{
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.pop_back();
}

} // namespace

ResponseParser::ResponseParser(Response& response, bool for_head, std::size_t max_header_size,
                               std::size_t max_header_fields, std::size_t max_body_size)
    : response_(response),
      for_head_(for_head),
      max_header_size_(max_header_size),
      max_header_fields_(max_header_fields),
      max_body_size_(max_body_size),
      chunk_line_(max_header_size)
{
    llhttp_init(&parser_, HTTP_RESPONSE, &settings());
    parser_.data = this;
}

// llhttp keeps a pointer to its settings: one static table serves every parser.
const llhttp_settings_t& ResponseParser::settings()
{
    static const llhttp_settings_t table = [] {
        llhttp_settings_t s;
        llhttp_settings_init(&s);
        s.on_message_begin = on_message_begin;
        s.on_status = on_status;
        s.on_header_field = on_header_field;
        s.on_header_value = on_header_value;
        s.on_header_value_complete = on_header_value_complete;
        s.on_headers_complete = on_headers_complete;
        s.on_body = on_body;
        s.on_chunk_complete = on_chunk_complete;
        s.on_message_complete = on_message_complete;
        return s;
    }();
    return table;
}

ResponseParser& ResponseParser::self(llhttp_t* parser)
{
    return *static_cast<ResponseParser*>(parser->data);
}

bool ResponseParser::feed(std::string_view data)
{
    if (complete_)
        return true;
    for (;;) {
        // A chunk's size line goes through chunk_line_, which keeps its
        // extensions from llhttp.
        if (chunk_line_.active()) {
            if (data.empty())
                return false;
            const auto [action, length] = chunk_line_.step(data);
            using Action = eventlet::detail::ChunkLineFilter::Action;
            if (action == Action::malformed)
                throw ProtocolError(response_.url.to_string() + ": malformed response: invalid chunk extension");
            if (action == Action::long_size)
                throw ProtocolError(response_.url.to_string() + ": malformed response: a chunk size of more than " +
                                    std::to_string(eventlet::detail::ChunkLineFilter::max_size_digits) + " digits");
            if (action == Action::too_long)
                throw ResponseTooLarge(response_.url.to_string() + ": the chunk extensions exceed " +
                                       std::to_string(max_header_size_) + " bytes");
            if (action == Action::skip || length == 0) {
                data.remove_prefix(length);
                continue;
            }
            const llhttp_errno_t error = llhttp_execute(&parser_, data.data(), length);
            if (error != HPE_OK)
                throw_error(error);
            data.remove_prefix(length);
            continue;
        }
        const llhttp_errno_t error = llhttp_execute(&parser_, data.data(), data.size());
        // on_message_complete pauses the parser: what follows the response is
        // not ours to parse. There should be nothing: we sent one request. A
        // server that sent more is not one to send the next request to.
        if (error == HPE_PAUSED && complete_) {
            if (llhttp_get_error_pos(&parser_) != data.data() + data.size())
                keep_alive_ = false;
            return true;
        }
        // So do on_headers_complete and on_chunk_complete: a size line follows.
        if (error == HPE_PAUSED) {
            const char* at = llhttp_get_error_pos(&parser_);
            llhttp_resume(&parser_);
            data.remove_prefix(static_cast<std::size_t>(at - data.data()));
            continue;
        }
        if (error != HPE_OK)
            throw_error(error);
        return false;
    }
}

void ResponseParser::finish()
{
    if (complete_)
        return;
    const llhttp_errno_t error = llhttp_finish(&parser_);
    if (error == HPE_PAUSED && complete_)
        return; // a body framed by the end of the connection: complete now
    if (error != HPE_OK)
        throw_error(error);
    if (!complete_)
        throw ProtocolError(response_.url.to_string() + ": the server closed the connection " +
                            (!begun_ ? "without sending a response"
                                     : "before the response was complete"));
}

void ResponseParser::throw_error(llhttp_errno_t error) const
{
    if (!too_large_.empty())
        throw ResponseTooLarge(response_.url.to_string() + ": " + too_large_);
    if (!malformed_.empty())
        throw ProtocolError(response_.url.to_string() + ": malformed response: " + malformed_);
    std::string message = response_.url.to_string() + ": malformed response: " +
                          llhttp_get_error_reason(&parser_) + " (" + llhttp_errno_name(error) + ")";
    if (error == HPE_INVALID_EOF_STATE)
        message = response_.url.to_string() +
                  ": the server closed the connection before the response was complete (" +
                  llhttp_get_error_reason(&parser_) + ")";
    throw ProtocolError(message);
}

int ResponseParser::fail_too_large(std::string message)
{
    too_large_ = std::move(message);
    return HPE_USER;
}

// llhttp 8.1 lets through a few things RFC 9110/9112 refuse; a callback
// stops the parser with the reason (llhttp would put its own "callback
// error" in its place).
int ResponseParser::fail_malformed(std::string message)
{
    malformed_ = std::move(message);
    return HPE_USER;
}

int ResponseParser::count_header_bytes(std::size_t length)
{
    header_bytes_ += length;
    if (header_bytes_ > max_header_size_)
        return fail_too_large("the status line and header fields exceed " +
                              std::to_string(max_header_size_) + " bytes");
    return HPE_OK;
}

// Also called again after an interim response (100 Continue): start afresh.
int ResponseParser::on_message_begin(llhttp_t* parser)
{
    ResponseParser& p = self(parser);
    p.begun_ = true;
    p.in_trailers_ = false;
    p.chunk_line_.reset();
    p.response_.reason.clear();
    p.response_.headers = Headers();
    p.response_.body.clear();
    p.field_.clear();
    p.value_.clear();
    return HPE_OK;
}

// The data callbacks may come in pieces, when a field is split between two
// reads: each appends.
int ResponseParser::on_status(llhttp_t* parser, const char* at, std::size_t length)
{
    ResponseParser& p = self(parser);
    p.response_.reason.append(at, length);
    return p.count_header_bytes(length);
}

int ResponseParser::on_header_field(llhttp_t* parser, const char* at, std::size_t length)
{
    ResponseParser& p = self(parser);
    // A field begins (its name's first piece) when the last one is stored.
    // The byte limit alone lets 64 KiB of "a:\r\n" lines become 16k fields,
    // each two strings and a vector slot: 16 times the bytes received.
    if (p.field_.empty() && !p.in_trailers_ && p.response_.headers.size() == p.max_header_fields_)
        return p.fail_too_large("more than " + std::to_string(p.max_header_fields_) + " header fields");
    p.field_.append(at, length);
    return p.count_header_bytes(length);
}

int ResponseParser::on_header_value(llhttp_t* parser, const char* at, std::size_t length)
{
    ResponseParser& p = self(parser);
    p.value_.append(at, length);
    return p.count_header_bytes(length);
}

int ResponseParser::on_header_value_complete(llhttp_t* parser)
{
    ResponseParser& p = self(parser);
    if (p.field_.empty())
        return p.fail_malformed("a header field with an empty name"); // RFC 9110 5.1: a token
    // A trailer (after a chunked body) is not a header field: merged in, a
    // Content-Encoding or a Location the sender put after the body would
    // change how the body is read, or where a redirect goes (RFC 9110
    // 6.5.1). It is counted against the header limit, and dropped, as
    // Python's http.client drops it.
    if (p.in_trailers_) {
        p.field_.clear();
        p.value_.clear();
        return HPE_OK;
    }
    trim_trailing_space(p.value_);
    p.response_.headers.add(std::move(p.field_), std::move(p.value_));
    p.field_.clear();
    p.value_.clear();
    return HPE_OK;
}

int ResponseParser::on_headers_complete(llhttp_t* parser)
{
    ResponseParser& p = self(parser);
    if (parser->status_code < 100) // RFC 9112 4: three digits; llhttp takes "41"
        return p.fail_malformed("the status code " + std::to_string(parser->status_code) +
                                " is not three digits");
    p.response_.status = parser->status_code;
    p.in_trailers_ = true; // what fields come now come after the body
    p.response_.version_major = parser->http_major;
    p.response_.version_minor = parser->http_minor;
    // No body follows, whatever Content-Length says: the answer to HEAD,
    // and 204 and 304 (RFC 9112 6.3; a 304's Content-Length is the length
    // the full answer would have).
    if (p.for_head_ || parser->status_code == 204 || parser->status_code == 304)
        return 1;
    // A Content-Length over the limit is refused before a byte of the body
    // is read; a known length is allocated at once.
    if ((parser->flags & F_CONTENT_LENGTH) != 0) {
        if (parser->content_length > p.max_body_size_)
            return p.fail_too_large("the body of " + std::to_string(parser->content_length) +
                                    " bytes (Content-Length) exceeds the limit of " +
                                    std::to_string(p.max_body_size_) + " bytes");
        p.response_.body.reserve(static_cast<std::size_t>(parser->content_length));
    }
    // A chunked body begins with a size line: llhttp stops before it, for
    // feed() to pass it through chunk_line_.
    if ((parser->flags & F_CHUNKED) != 0) {
        p.chunk_line_.start();
        return HPE_PAUSED;
    }
    return HPE_OK;
}

// A chunk but the last is followed by another's size line: llhttp stops
// there, for feed() to pass it through chunk_line_. (The last chunk's
// completes after its trailer section, just before the response does.)
int ResponseParser::on_chunk_complete(llhttp_t* parser)
{
    if ((parser->flags & F_TRAILING) != 0)
        return HPE_OK;
    self(parser).chunk_line_.start();
    return HPE_PAUSED;
}

int ResponseParser::on_body(llhttp_t* parser, const char* at, std::size_t length)
{
    ResponseParser& p = self(parser);
    if (length > p.max_body_size_ - p.response_.body.size())
        return p.fail_too_large("the body exceeds the limit of " + std::to_string(p.max_body_size_) +
                                " bytes");
    p.response_.body.append(at, length);
    return HPE_OK;
}

int ResponseParser::on_message_complete(llhttp_t* parser)
{
    ResponseParser& p = self(parser);
    // An interim response (1xx, but not 101) is followed by the real one.
    if (parser->status_code >= 100 && parser->status_code < 200 && parser->status_code != 101)
        return HPE_OK;
    p.complete_ = true;
    p.keep_alive_ = llhttp_should_keep_alive(parser) != 0;
    return HPE_PAUSED;
}

} // namespace eventlet::http::detail
