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

    /// What a request may not exceed, as ServerOptions' fields of the same
    /// names say.
    struct Limits {
        std::size_t max_header_bytes;  ///< the header section, request line included; the trailers' too (431)
        std::size_t max_body_bytes;    ///< the body (413)
        std::size_t max_header_fields; ///< the number of header fields (431)
        std::size_t max_request_line;  ///< the request line, as sent (414)
        std::size_t max_header_line;   ///< each header field's line, as sent (431)
    };

    /// A parser refusing what goes past `limits`.
    explicit RequestParser(const Limits& limits);
    RequestParser(const RequestParser&) = delete;
    RequestParser& operator=(const RequestParser&) = delete;

    /// Parses a prefix of `data`: stops at the end of the header section,
    /// at the end of the request, or at the end of `data`.
    /// \returns the number of bytes taken.
    /// \throws HttpError (400, 413, 414, 431, 501 or 505).
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
    /// True if the request announced a body (a Content-Length above 0, or
    /// chunked). Valid from Stage::body on, before the body is parsed.
    bool body_announced() const noexcept
    {
        return (parser_.flags & F_CHUNKED) != 0 || ((parser_.flags & F_CONTENT_LENGTH) != 0 && parser_.content_length > 0);
    }
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
    static int on_chunk_header(llhttp_t* parser);
    static int on_chunk_complete(llhttp_t* parser);
    static int on_message_complete(llhttp_t* parser);
    static const llhttp_settings_t& settings();
    static RequestParser& self(llhttp_t* parser) noexcept;
    /// Gives `data` to llhttp, which stops at the end of the header section,
    /// of a chunk, or of the request. \returns the number of bytes taken.
    std::size_t execute(std::string_view data);
    /// Gives `data` to llhttp as it is. \returns the number of bytes taken.
    std::size_t run_llhttp(std::string_view data);
    /// execute() within a chunked body's trailer section, which counts
    /// against max_header_bytes. \throws HttpError (431) past it.
    std::size_t execute_trailers(std::string_view data);
    [[noreturn]] void fail(llhttp_errno_t error);
    /// Checks the request's Transfer-Encoding fields: each must name a
    /// coding, and chunked is the only one. \returns 0, or what refuse()
    /// returns.
    int check_transfer_codings();
    /// Refuses the request from inside a callback. \returns what the
    /// callback returns to stop llhttp.
    int refuse(int status, std::string reason);
    // Where the header section's bytes stand, counted on the bytes as sent.
    struct HeadScan {
        std::size_t bytes = 0;          // the line under way's bytes so far, CRs aside
        bool at_start = false;          // the next byte begins a line
        bool request_line_done = false; // so the line under way is a header field's
    };
    // Where the header section's bytes given to llhttp stop: before the
    // byte that folds a line onto the one before, or one byte past a
    // line's limit.
    struct HeadCut {
        std::size_t at = std::string_view::npos; // npos: nowhere
        bool fold = false;                       // the cut is before a fold
    };
    /// The cut of `data`, the header section's next bytes, moving `scan`
    /// over them (up to the cut, if there is one).
    HeadCut cut_head(std::string_view data, HeadScan& scan) const noexcept;
    /// `scan`'s line has passed its limit. \throws HttpError (414 or 431).
    [[noreturn]] void refuse_long_line(const HeadScan& scan) const;

    llhttp_t parser_;
    Limits limits_;
    Stage stage_ = Stage::idle;
    std::size_t head_bytes_ = 0;
    HeadScan scan_;
    std::size_t body_bytes_ = 0;
    bool trailers_ = false;         // inside the trailer section of a chunked body
    std::size_t trailer_bytes_ = 0; // its bytes so far
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
