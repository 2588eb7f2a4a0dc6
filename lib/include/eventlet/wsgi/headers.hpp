/// \file
/// Headers: the header fields of an HTTP request or response, in order.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// A WSGI-style HTTP/1.1 server: an application is called with a request
/// and answers through start_response (Eventlet's `eventlet.wsgi`).
namespace eventlet::wsgi {

/// Header fields as they came or as they will go: a list of (name, value)
/// pairs in order, repeats allowed (WSGI's `response_headers` list). Names
/// are matched without regard to case, as HTTP wants.
class Headers {
public:
    /// One header field: name and value.
    using Field = std::pair<std::string, std::string>;
    /// Iterates the fields in order.
    using const_iterator = std::vector<Field>::const_iterator;

    /// No fields.
    Headers() = default;
    /// The fields given, in order: `{{"Content-Type", "text/plain"}}`.
    Headers(std::initializer_list<Field> fields) : fields_(fields) {}

    /// Appends a field (a repeat of a name adds to it, it does not replace).
    void add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
    /// Removes every field (the memory for them stays, for the next ones).
    void clear() noexcept { fields_.clear(); }
    /// The value of `name`; its values joined by ", " if it is repeated (as
    /// the WSGI environ has them); nullopt if it is absent.
    std::optional<std::string> get(std::string_view name) const;
    /// True if a field is called `name`.
    bool contains(std::string_view name) const;
    /// True if `token` is one of the comma-separated tokens of `name`'s
    /// values, ignoring case and spaces: `has_token("Connection", "close")`.
    bool has_token(std::string_view name, std::string_view token) const;

    /// The first field.
    const_iterator begin() const noexcept { return fields_.begin(); }
    /// Past the last field.
    const_iterator end() const noexcept { return fields_.end(); }
    /// The number of fields.
    std::size_t size() const noexcept { return fields_.size(); }
    /// True if there is no field.
    bool empty() const noexcept { return fields_.empty(); }

private:
    std::vector<Field> fields_;
};

/// True if `a` and `b` are the same ASCII text but for case (HTTP's rule
/// for header names and tokens).
bool iequals(std::string_view a, std::string_view b) noexcept;

/// `text` without the spaces and tabs around it: HTTP's optional whitespace,
/// which is not part of a field's value (RFC 9110 5.5).
std::string_view trim_whitespace(std::string_view text) noexcept;

} // namespace eventlet::wsgi
