/// \file
/// A routing table for wsgi::server: one application that dispatches each
/// request to the handler of the first route its method and path match.
/// The reference solution of exercise 9 (README.md explains it).
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
        if (method.empty() || !handler)
            throw std::invalid_argument("a route needs a method and a handler");
        if (!pattern.starts_with('/'))
            throw std::invalid_argument("a route's pattern starts with '/': '" + std::string(pattern) + "'");
        Route route{std::move(method), {}, std::move(handler)};
        for (std::string_view segment : split(pattern)) {
            const bool braced = segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
            const std::string_view inside = braced ? segment.substr(1, segment.size() - 2) : segment;
            if (inside.find_first_of("{}") != std::string_view::npos)
                throw std::invalid_argument("'" + std::string(segment) + "' is neither literal nor {name}");
            route.segments.push_back({std::string(inside), braced});
        }
        routes_.push_back(std::move(route));
        return *this;
    }

    /// The application: calls the handler of the first route whose pattern
    /// matches the request's (decoded) path and whose method is the
    /// request's, GET routes serving HEAD too. A path that some route
    /// matches with other methods is answered 405, with an Allow header
    /// listing them in the order added; any other path, 404.
    wsgi::Body operator()(wsgi::Request& request, wsgi::StartResponse& start_response) const
    {
        std::string allowed;
        for (const Route& route : routes_) {
            std::optional<Params> params = match(route, request.path);
            if (!params)
                continue;
            if (route.method == request.method || (route.method == "GET" && request.method == "HEAD"))
                return route.handler(request, start_response, *params);
            if (!contains(allowed, route.method))
                allowed += (allowed.empty() ? "" : ", ") + route.method;
        }
        if (!allowed.empty()) {
            start_response("405 Method Not Allowed", {{"Allow", allowed}, {"Content-Type", "text/plain"}});
            return "use " + allowed + "\n";
        }
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
    // significant ("/feeds/" is not "/feeds").
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

    static std::optional<Params> match(const Route& route, std::string_view path)
    {
        if (!path.starts_with('/'))
            return std::nullopt;
        const std::vector<std::string_view> segments = split(path);
        if (segments.size() != route.segments.size())
            return std::nullopt;
        Params params;
        for (std::size_t i = 0; i < segments.size(); ++i) {
            const Segment& expected = route.segments[i];
            if (expected.param && !segments[i].empty())
                params[expected.text] = segments[i];
            else if (expected.param || expected.text != segments[i])
                return std::nullopt;
        }
        return params;
    }

    static bool contains(std::string_view list, std::string_view method)
    {
        for (std::size_t at = 0; at < list.size();) {
            const std::size_t comma = std::min(list.find(", ", at), list.size());
            if (list.substr(at, comma - at) == method)
                return true;
            at = comma + 2;
        }
        return false;
    }

    std::vector<Route> routes_;
};

} // namespace exercise
