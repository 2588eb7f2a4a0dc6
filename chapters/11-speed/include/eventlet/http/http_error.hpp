/// \file
/// HttpError: a response whose status is an error, thrown by urlopen().
#pragma once

#include <memory>
#include <string>

#include "eventlet/http/errors.hpp"
#include "eventlet/http/response.hpp"

namespace eventlet::http {

/// The server answered, with a status that is not a success: 4xx, 5xx, or
/// a 3xx that is not followed (Python's `urllib.error.HTTPError`). what()
/// reads as Python's does: "HTTP Error 404: Not Found". The response comes
/// with it, body included, since error pages often say what went wrong.
class HttpError : public Error {
public:
    /// The error for `response`.
    explicit HttpError(Response response);

    /// The status code: 404, 503...
    int status() const noexcept { return response_->status; }
    /// The reason phrase: "Not Found".
    const std::string& reason() const noexcept { return response_->reason; }
    /// The URL that answered so.
    const Url& url() const noexcept { return response_->url; }
    /// The whole response.
    const Response& response() const noexcept { return *response_; }

private:
    // Shared, so that copying the exception (as throw and catch may) never
    // copies the body, and never throws.
    std::shared_ptr<const Response> response_;
};

} // namespace eventlet::http
