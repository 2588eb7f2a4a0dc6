// Header fields: case-blind names, comma-separated tokens.
#include "eventlet/wsgi/headers.hpp"

#include <algorithm>

namespace eventlet::wsgi {
namespace {

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

} // namespace

std::string_view trim_whitespace(std::string_view text) noexcept
{
    const auto blank = [](char c) { return c == ' ' || c == '\t'; };
    while (!text.empty() && blank(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && blank(text.back()))
        text.remove_suffix(1);
    return text;
}

bool iequals(std::string_view a, std::string_view b) noexcept
{
    return std::ranges::equal(a, b, [](char x, char y) { return lower(x) == lower(y); });
}

std::optional<std::string> Headers::get(std::string_view name) const
{
    std::optional<std::string> value;
    for (const auto& [field, text] : fields_) {
        if (!iequals(field, name))
            continue;
        if (value)
            *value += ", " + text;
        else
            value = text;
    }
    return value;
}

bool Headers::contains(std::string_view name) const
{
    return std::ranges::any_of(fields_, [name](const Field& f) { return iequals(f.first, name); });
}

bool Headers::has_token(std::string_view name, std::string_view token) const
{
    for (const auto& [field, text] : fields_) {
        if (!iequals(field, name))
            continue;
        std::string_view rest = text;
        while (!rest.empty()) {
            const std::size_t comma = std::min(rest.find(','), rest.size());
            if (iequals(trim_whitespace(rest.substr(0, comma)), token))
                return true;
            rest.remove_prefix(std::min(comma + 1, rest.size()));
        }
    }
    return false;
}

} // namespace eventlet::wsgi
