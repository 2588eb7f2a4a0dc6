/// \file
/// HttpError: a failure that has an HTTP status to answer with.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace eventlet::wsgi {

/// A request that cannot be served as it is, and the status that says why:
/// 400 for a malformed request, 413 for a body over the limit, 431 for a
/// header section over the limit, 505 for a version other than 1.0 and 1.1.
/// The server throws it from reading a request (and from the request's
/// Input); an application may throw it too. If the response has not begun,
/// the server answers with that status and `what()` as the body, then
/// closes the connection.
class HttpError : public std::runtime_error {
public:
    /// An error answered with `status` (400 to 599) and `message`.
    /// \throws std::invalid_argument for a status outside 400-599.
    HttpError(int status, const std::string& message);
    /// The status to answer with.
    int status() const noexcept { return status_; }

private:
    int status_;
};

/// The reason phrase of `status` ("Not Found" for 404), or "Unknown" for a
/// code it does not know.
std::string_view reason_phrase(int status) noexcept;

} // namespace eventlet::wsgi
