/// \file
/// Response: what urlopen() returns, the whole response read into memory.
#pragma once

#include <string>

#include "eventlet/http/headers.hpp"
#include "eventlet/http/url.hpp"

namespace eventlet::http {

/// A complete HTTP response: status line, header fields and body, read to
/// the end before urlopen() returns (Python's `http.client.HTTPResponse`
/// after `read()`). The body is bytes in a std::string: no decoding of
/// charsets, and no content coding unless Options::decompress asked for
/// gzip or deflate (the header fields then still say how it came).
struct Response {
    Url url;              ///< the URL that answered: the last one, after redirects
    int status = 0;       ///< the status code: 200, 404...
    std::string reason{}; ///< the reason phrase, as the server wrote it ("OK")
    int version_major = 1; ///< the HTTP version of the response: 1 of HTTP/1.0
    int version_minor = 1; ///< the HTTP version of the response: 0 of HTTP/1.0
    Headers headers{};    ///< the header fields, in order, repeats kept; not the
                          ///< trailers after a chunked body (dropped)
    std::string body{};   ///< the body, whatever its framing was on the wire

    /// True for a 2xx status.
    bool ok() const noexcept { return status >= 200 && status < 300; }
};

} // namespace eventlet::http
