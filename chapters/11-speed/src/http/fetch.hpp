// Internal: what urlopen() and Session::urlopen() share.
#pragma once

#include "eventlet/http/client.hpp"

namespace eventlet::http::detail {

class IdleConnections;

/// urlopen(): the whole call, redirects included, within options.timeout.
/// With `idle`, connections are taken from it and given back to it (a
/// Session); without, each request has a connection of its own, closed
/// after its response.
Response fetch(const Url& url, const Options& options, IdleConnections* idle);

} // namespace eventlet::http::detail
