/// \file
/// The errors of the HTTP client that are neither socket errors nor timeouts.
#pragma once

#include <stdexcept>
#include <string>

/// HTTP on green sockets: URLs, responses, and the client urlopen().
namespace eventlet::http {

/// A URL that cannot be fetched as written: no scheme, no host, a bad
/// port, a space in the path (Python's `ValueError` from urlopen).
class UrlError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// A well-formed URL whose scheme this client does not speak: `https://`
/// (no TLS yet), `ftp://`, `file://` (Python's `URLError: unknown url type`).
class UnsupportedScheme : public UrlError {
public:
    using UrlError::UrlError;
};

/// The base of the errors a server causes: a response that breaks HTTP, is
/// too large, redirects in circles, or has an error status. Catch it to
/// catch everything urlopen() reports about the response itself.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A response that is not valid HTTP/1.1, as llhttp in strict mode judges
/// it; the message holds llhttp's reason ("Invalid character in
/// Content-Length"), or says the connection ended before the response did.
class ProtocolError : public Error {
public:
    using Error::Error;
};

/// A response larger than Options::max_body_size, whose header exceeds
/// Options::max_header_size, or that has more header fields than
/// Options::max_header_fields. The transfer is abandoned as soon as the
/// limit is known to be passed: at once when Content-Length announces it.
class ResponseTooLarge : public Error {
public:
    using Error::Error;
};

/// Redirects that lead nowhere: more than Options::max_redirects of them,
/// or back to a URL already visited in the same chain.
class RedirectError : public Error {
public:
    using Error::Error;
};

} // namespace eventlet::http
