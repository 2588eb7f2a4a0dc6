// Header fields looked up without case.
#include "eventlet/http/headers.hpp"

#include <algorithm>
#include <utility>

namespace eventlet::http {

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept
{
    auto fold = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return fold(x) == fold(y); });
}

void Headers::add(std::string name, std::string value)
{
    fields_.push_back(Header{std::move(name), std::move(value)});
}

void Headers::set(std::string name, std::string value)
{
    erase(name);
    add(std::move(name), std::move(value));
}

std::size_t Headers::erase(std::string_view name)
{
    return std::erase_if(fields_, [name](const Header& field) { return equal_ignoring_case(field.name, name); });
}

std::optional<std::string_view> Headers::get(std::string_view name) const
{
    for (const Header& field : fields_)
        if (equal_ignoring_case(field.name, name))
            return field.value;
    return std::nullopt;
}

std::vector<std::string_view> Headers::get_all(std::string_view name) const
{
    std::vector<std::string_view> values;
    for (const Header& field : fields_)
        if (equal_ignoring_case(field.name, name))
            values.push_back(field.value);
    return values;
}

} // namespace eventlet::http
