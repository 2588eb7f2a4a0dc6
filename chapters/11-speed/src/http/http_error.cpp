// HttpError: a response with an error status, as an exception.
#include "eventlet/http/http_error.hpp"

#include <memory>
#include <string>
#include <utility>

namespace eventlet::http {
namespace {

// Python's wording, which users grep logs for: "HTTP Error 404: Not Found".
std::string describe(const Response& response)
{
    return "HTTP Error " + std::to_string(response.status) + ": " + response.reason;
}

} // namespace

HttpError::HttpError(Response response)
    : Error(describe(response)), response_(std::make_shared<const Response>(std::move(response)))
{
}

} // namespace eventlet::http
