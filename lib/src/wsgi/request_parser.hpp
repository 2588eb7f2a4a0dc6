// RequestParser: llhttp, strict, driven one request at a time.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "chunk_line.hpp"
#include "eventlet/wsgi/request.hpp"

namespace eventlet::wsgi::detail {

/// Parses the requests of one connection from the bytes fed to it, without
/// any I/O of its own. It stops after the header section of each request
/// (so the server can answer it before its body is read) and after its
/// end (so that bytes of the next pipelined request stay unread until the
/// response to this one is out): feed() returns how many bytes it took.
class RequestParser {
public:
    /// Where the parser is within the current request.
    enum class Stage {
        idle, ///< no byte of a request yet
        head, ///< inside the request line and header fields
        body, ///< the header section is complete; the body is under way
        done, ///< the request is complete; next() starts the following one
    };

    /// A parser refusing a header section over `max_header_bytes` or with
    /// more than `max_header_fields` fields (431), a request line over
    /// `max_request_line` bytes (414) and a body over `max_body_bytes` (413).
    RequestParser(std::size_t max_header_bytes, std::size_t max_body_bytes, std::size_t max_header_fields,
                  std::size_t max_request_line);
    RequestParser(const RequestParser&) = delete;
    RequestParser& operator=(const RequestParser&) = delete;

    /// Parses a prefix of `data`: stops at the end of the header section,
    /// at the end of the request, or at the end of `data`.
    /// \returns the number of bytes taken.
    /// \throws HttpError (400, 413, 414, 431 or 505).
    std::size_t feed(std::string_view data);
    /// The client ended the stream: completes a body that ends with the
    /// connection. \throws HttpError (400) if a request was cut short.
    void finish();
    /// After Stage::done: gets ready for the next request.
    void next();

    /// The current stage.
    Stage stage() const noexcept { return stage_; }
    /// The request as parsed so far (complete from Stage::body on; the
    /// server moves it out then). Its input is left empty.
    Request& request() noexcept { return request_; }
    /// The body bytes parsed and not taken yet (see take_body()).
    std::size_t body_buffered() const noexcept { return body_.size() - body_start_; }
    /// Moves up to `out.size()` body bytes into `out`. \returns how many.
    std::size_t take_body(std::span<char> out) noexcept;

private:
    static int on_message_begin(llhttp_t* parser);
    static int on_method(llhttp_t* parser, const char* at, std::size_t length);
    static int on_url(llhttp_t* parser, const char* at, std::size_t length);
    static int on_version(llhttp_t* parser, const char* at, std::size_t length);
    static int on_version_complete(llhttp_t* parser);
    static int on_header_field(llhttp_t* parser, const char* at, std::size_t length);
    static int on_header_value(llhttp_t* parser, const char* at, std::size_t length);
    static int on_header_value_complete(llhttp_t* parser);
    static int on_headers_complete(llhttp_t* parser);
    static int on_body(llhttp_t* parser, const char* at, std::size_t length);
    static int on_chunk_complete(llhttp_t* parser);
    static int on_message_complete(llhttp_t* parser);
    static const llhttp_settings_t& settings();
    static RequestParser& self(llhttp_t* parser) noexcept;
    /// Gives `data` to llhttp, which stops at the end of the header section,
    /// of a chunk, or of the request. \returns the number of bytes taken.
    std::size_t execute(std::string_view data);
    [[noreturn]] void fail(llhttp_errno_t error);
    /// Refuses the request from inside a callback. \returns what the
    /// callback returns to stop llhttp.
    int refuse(int status, std::string reason);
    /// The request line so far is over its limit.
    bool request_line_too_long() const noexcept;
    /// llhttp stopped on a malformed byte `error_offset` bytes into the
    /// data of this feed while still in the request line, and the line had
    /// already passed its limit there: refuses it with 414.
    void refuse_if_line_too_long(std::size_t error_offset);

    llhttp_t parser_;
    std::size_t max_header_bytes_;
    std::size_t max_body_bytes_;
    std::size_t max_header_fields_;
    std::size_t max_request_line_;
    Stage stage_ = Stage::idle;
    std::size_t head_bytes_ = 0;
    const char* feed_data_ = nullptr; // the data llhttp is parsing now
    std::size_t line_start_ = 0;      // head bytes before the request line's method
    bool line_done_ = false;          // the request line's version is complete
    std::size_t body_bytes_ = 0;
    eventlet::detail::ChunkLineFilter chunk_line_; // a chunked body's size lines
    int refusal_ = 0;            // the status a callback refused the request with
    std::string refusal_reason_; // and why
    Request request_;
    std::string version_; // "1.1": the digits of the version, as they come
    std::string field_;
    std::string value_;
    std::string body_;
    std::size_t body_start_ = 0;
};

} // namespace eventlet::wsgi::detail
