/// \file
/// A routing table for wsgi::server: one application that dispatches each
/// request to the handler of the first route its method and path match.
/// Exercise 9 (README.md): the starter. It compiles, and answers 404 to
/// everything; fill in add(), match() and operator().
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <eventlet/wsgi/server.hpp>

namespace exercise {

namespace wsgi = eventlet::wsgi;

/// The values of a route's `{name}` segments, by name.
using Params = std::map<std::string, std::string>;

/// What a route calls: a wsgi application that also gets the route's params.
using Handler = std::function<wsgi::Body(wsgi::Request&, wsgi::StartResponse&, const Params&)>;

/// A routing table: `router.add("GET", "/feeds/{name}", handler)`, then
/// `wsgi::server(listener, router)`. Copyable, so that it converts to a
/// wsgi::App (a std::function, which copies what it holds).
class Router {
public:
    /// Adds a route, tried after those added before it. `pattern` is a
    /// path of '/'-separated segments, each literal or a `{name}` that
    /// matches any one non-empty segment.
    /// \throws std::invalid_argument for an empty method or handler, a
    ///         pattern that does not start with '/', or a '{' or '}' that
    ///         is not a whole `{name}` segment.
    Router& add(std::string method, std::string_view pattern, Handler handler)
    {
        // TODO: check the arguments; turn the pattern into segments.
        (void)pattern;
        routes_.push_back(Route{std::move(method), {}, std::move(handler)});
        return *this;
    }

    /// The application: calls the handler of the first route whose pattern
    /// matches the request's (decoded) path and whose method is the
    /// request's, GET routes serving HEAD too. A path that some route
    /// matches with other methods is answered 405, with an Allow header
    /// listing them in the order added; any other path, 404.
    wsgi::Body operator()(wsgi::Request& request, wsgi::StartResponse& start_response) const
    {
        // TODO: try the routes in order (see match()); 405 with Allow.
        start_response("404 Not Found", {{"Content-Type", "text/plain"}});
        return "no route for " + request.path + "\n";
    }

private:
    struct Segment {
        std::string text; ///< the literal, or the param's name
        bool param;
    };
    struct Route {
        std::string method;
        std::vector<Segment> segments;
        Handler handler;
    };

    // "/a/b/" -> "a", "b", "": an empty last segment keeps a trailing slash
    // significant ("/feeds/" is not "/feeds"). `path` starts with '/'.
    static std::vector<std::string_view> split(std::string_view path)
    {
        std::vector<std::string_view> segments;
        path.remove_prefix(1);
        for (std::size_t slash; (slash = path.find('/')) != std::string_view::npos;) {
            segments.push_back(path.substr(0, slash));
            path.remove_prefix(slash + 1);
        }
        segments.push_back(path);
        return segments;
    }

    // The params of `route` for `path`, or nullopt if it does not match.
    static std::optional<Params> match(const Route& route, std::string_view path)
    {
        // TODO
        (void)route;
        (void)path;
        return std::nullopt;
    }

    std::vector<Route> routes_;
};

} // namespace exercise
