// Internal: an HTTP/1.x response parser on llhttp, collecting a Response.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "chunk_line.hpp"
#include "eventlet/http/response.hpp"

namespace eventlet::http::detail {

/// Feeds the bytes of one response to llhttp and collects its parts.
/// llhttp does the parsing, framing included; this class only stores what
/// its callbacks hand over and enforces the size limits. Not movable:
/// llhttp's callbacks find it through a pointer in the parser.
class ResponseParser {
public:
    /// A parser for the response to a request `for_head` or not (a response
    /// to HEAD announces a body it does not send), whose sizes and number of
    /// header fields must stay within the limits; `response.url` names the
    /// URL in errors.
    ResponseParser(Response& response, bool for_head, std::size_t max_header_size,
                   std::size_t max_header_fields, std::size_t max_body_size);
    ResponseParser(const ResponseParser&) = delete;
    ResponseParser& operator=(const ResponseParser&) = delete;

    /// Parses the next bytes received. \returns true once the response is
    /// complete (bytes after it are not parsed: see keep_alive()).
    /// \throws ProtocolError with llhttp's reason; ResponseTooLarge.
    bool feed(std::string_view data);
    /// The connection ended: completes a body framed by the end of the
    /// connection. \throws ProtocolError if the response is incomplete.
    void finish();
    /// Whether the connection may carry another request: llhttp's verdict
    /// at the end of the response (HTTP/1.1 without `Connection: close`, or
    /// HTTP/1.0 with keep-alive, and a body not framed by the close), and
    /// nothing received after it.
    bool keep_alive() const noexcept { return keep_alive_; }

private:
    static int on_message_begin(llhttp_t* parser);
    static int on_status(llhttp_t* parser, const char* at, std::size_t length);
    static int on_header_field(llhttp_t* parser, const char* at, std::size_t length);
    static int on_header_value(llhttp_t* parser, const char* at, std::size_t length);
    static int on_header_value_complete(llhttp_t* parser);
    static int on_headers_complete(llhttp_t* parser);
    static int on_body(llhttp_t* parser, const char* at, std::size_t length);
    static int on_chunk_complete(llhttp_t* parser);
    static int on_message_complete(llhttp_t* parser);
    static const llhttp_settings_t& settings();
    static ResponseParser& self(llhttp_t* parser);

    int count_header_bytes(std::size_t length);
    int fail_too_large(std::string message);
    int fail_malformed(std::string message);
    [[noreturn]] void throw_error(llhttp_errno_t error) const;

    llhttp_t parser_;
    Response& response_;
    bool for_head_;
    std::size_t max_header_size_;
    std::size_t max_header_fields_;
    std::size_t max_body_size_;
    std::size_t header_bytes_ = 0;
    eventlet::detail::ChunkLineFilter chunk_line_; // a chunked body's size lines
    std::string field_;
    std::string value_;
    std::string too_large_; // why a callback stopped the parser, if it did
    std::string malformed_; // what llhttp lets through and HTTP does not
    bool begun_ = false;
    bool in_trailers_ = false; // past the head: fields now are trailers
    bool complete_ = false;
    bool keep_alive_ = false;
};

} // namespace eventlet::http::detail
