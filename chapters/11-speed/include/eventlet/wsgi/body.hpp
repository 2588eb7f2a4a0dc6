/// \file
/// Body: what an application returns, whole or piece by piece.
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace eventlet::wsgi {

/// The body of a response (the iterable a WSGI application returns). It is
/// either known whole (a string, a list of strings), and then its length
/// goes out as Content-Length; or produced piece by piece by a function
/// that the server calls for each next piece until it returns nullopt, and
/// then the response goes out chunked (to an HTTP/1.0 client: up to the
/// close of the connection), each piece sent as soon as it is produced.
///
///     return "hello\n";                                  // Content-Length: 6
///     return wsgi::Body([n = 0]() mutable -> std::optional<std::string> {
///         if (n == 3) return std::nullopt;
///         return std::to_string(n++) + "\n";             // chunked
///     });
class Body {
public:
    /// The next piece, or nullopt at the end.
    using Generator = std::function<std::optional<std::string>()>;

    /// An empty body.
    Body() : Body(std::string()) {}
    /// A body known whole.
    Body(std::string text);
    /// A body known whole (a C string).
    Body(const char* text) : Body(std::string(text)) {}
    /// A body known whole, in pieces (WSGI's list of strings).
    Body(std::vector<std::string> pieces);
    /// A body produced piece by piece: the server calls `generator` for
    /// each next piece (it may park) until it returns nullopt.
    template <class F>
        requires std::same_as<std::invoke_result_t<F&>, std::optional<std::string>>
    Body(F generator) : next_(std::move(generator))
    {
    }

    /// The next piece, or nullopt at the end.
    std::optional<std::string> next() { return next_(); }
    /// The total length in bytes if known in advance (whole bodies).
    std::optional<std::size_t> length() const noexcept { return length_; }

private:
    Generator next_;
    std::optional<std::size_t> length_;
};

} // namespace eventlet::wsgi
