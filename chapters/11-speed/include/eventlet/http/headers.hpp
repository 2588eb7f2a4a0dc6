/// \file
/// Headers: the header fields of an HTTP message, in order, looked up by name.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eventlet::http {

/// One header field: a name and its value, as they came.
struct Header {
    std::string name;  ///< as written ("Content-Type"); compared without case
    std::string value; ///< without the white space around it
};

/// The header fields of a message, in the order they came. Names compare
/// without case ("content-length" finds "Content-Length"), as HTTP says.
/// A name may repeat: every field is kept (Set-Cookie is the classic case),
/// get() gives the first and get_all() gives them all.
class Headers {
public:
    /// No fields.
    Headers() = default;
    /// These fields, in this order: `Headers{{"Accept", "text/html"}}`.
    Headers(std::initializer_list<Header> fields) : fields_(fields) {}

    /// Adds a field after the others, keeping those of the same name.
    void add(std::string name, std::string value);
    /// Replaces every field named `name` by one with `value`.
    void set(std::string name, std::string value);
    /// Removes every field named `name`. \returns how many there were.
    std::size_t erase(std::string_view name);

    /// The value of the first field named `name`, if there is one. The
    /// view refers into this object: valid until it is changed.
    std::optional<std::string_view> get(std::string_view name) const;
    /// The values of every field named `name`, in order.
    std::vector<std::string_view> get_all(std::string_view name) const;
    /// True if a field is named `name`.
    bool contains(std::string_view name) const { return get(name).has_value(); }

    /// Number of fields, repeats included.
    std::size_t size() const noexcept { return fields_.size(); }
    /// True if there is no field.
    bool empty() const noexcept { return fields_.empty(); }
    /// The first field, in the order they came.
    std::vector<Header>::const_iterator begin() const noexcept { return fields_.begin(); }
    /// Past the last field.
    std::vector<Header>::const_iterator end() const noexcept { return fields_.end(); }

private:
    std::vector<Header> fields_;
};

/// True if `a` and `b` are the same name but for case (ASCII only, as
/// header names are).
bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept;

} // namespace eventlet::http
