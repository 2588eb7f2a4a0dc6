/// \file
/// Request: what an application is asked (WSGI's environ).
#pragma once

#include <string>
#include <utility>

#include "eventlet/address.hpp"
#include "eventlet/wsgi/headers.hpp"
#include "eventlet/wsgi/input.hpp"

namespace eventlet::wsgi {

/// One HTTP request, as the server hands it to the application (the parts
/// of WSGI's environ that matter in C++). Valid while the application runs
/// and while the server takes the response's body from it.
struct Request {
    /// The method, in capitals: "GET", "POST", "HEAD"... (REQUEST_METHOD)
    std::string method;
    /// The request target as sent: "/feeds/a%20b?n=3" (REQUEST_URI).
    std::string target;
    /// The target's path, percent-decoded: "/feeds/a b" (PATH_INFO). An
    /// absolute target ("http://host/p") gives its path ("/p").
    std::string path;
    /// What follows the '?' of the target, as sent: "n=3" (QUERY_STRING).
    std::string query;
    /// "HTTP/1.0" or "HTTP/1.1" (SERVER_PROTOCOL).
    std::string version;
    /// The header fields, in the order they came.
    Headers headers;
    /// The client's address (REMOTE_ADDR and REMOTE_PORT); 0.0.0.0:0 until
    /// the server sets it.
    Address peer{"0.0.0.0", 0};
    /// The body (wsgi.input): ends where the body ends.
    Input input;

    /// The request line, as logged: "GET /feeds?n=3 HTTP/1.1".
    std::string request_line() const;
};

/// Splits a request target into its decoded path and its query (see
/// Request::path and Request::query). Used by the server; here for tests.
/// \returns (path, query).
std::pair<std::string, std::string> split_target(const std::string& target);

} // namespace eventlet::wsgi
