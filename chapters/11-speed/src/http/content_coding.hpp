// Internal: a response body's content coding (gzip, deflate) undone.
#pragma once

#include <cstddef>

#include "eventlet/http/response.hpp"

namespace eventlet::http::detail {

/// Decodes `response.body` as its Content-Encoding says: gzip (x-gzip),
/// deflate, identity, or several of them in the order they were applied.
/// The body then holds what the server encoded; the header fields stay as
/// they came.
/// \throws ProtocolError for a body that does not decode (corrupt,
///         truncated, trailing bytes) or a coding it does not know;
///         ResponseTooLarge when the decoded body passes `max_body_size`.
void decode_content(Response& response, std::size_t max_body_size);

} // namespace eventlet::http::detail
