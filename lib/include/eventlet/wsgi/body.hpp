/// \file
/// Body: what an application returns, whole or piece by piece.
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
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
    Body(std::string text) : single_(std::move(text)), length_(single_.size()) {}
    /// A body known whole (a C string).
    Body(const char* text) : Body(std::string(text)) {}
    /// A body known whole, in pieces (WSGI's list of strings).
    Body(std::vector<std::string> pieces);
    /// A body produced piece by piece: the server calls `generator` for
    /// each next piece (it may park) until it returns nullopt.
    template <class F>
        requires std::same_as<std::invoke_result_t<F&>, std::optional<std::string>>
    Body(F generator) : generator_(std::move(generator))
    {
    }

    /// The next piece, or nullopt at the end.
    std::optional<std::string> next();
    /// The total length in bytes if known in advance (whole bodies).
    std::optional<std::size_t> length() const noexcept { return length_; }

private:
    // A whole body is held as it came, not behind a Generator: a function
    // holding a string would be an allocation or two more for every response.
    Generator generator_;             // a body made piece by piece, if set
    std::string single_;              // a body known whole, of one piece
    std::vector<std::string> pieces_; // or of several (or none)
    bool several_ = false;            // which of the two a whole body is
    std::size_t taken_ = 0;           // the pieces of a whole body handed out
    std::optional<std::size_t> length_;
};

} // namespace eventlet::wsgi
