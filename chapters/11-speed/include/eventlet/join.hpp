/// \file
/// join(): the elements of a range of strings, concatenated with a separator.
#pragma once

#include <ranges>
#include <string>
#include <string_view>

namespace eventlet {

/// Concatenates the elements of `strings` with `separator` between them,
/// reading the range one element at a time (Python's `separator.join()`):
/// over a GreenPile, each result is appended as soon as it is ready.
template <std::ranges::input_range Range>
    requires std::convertible_to<std::ranges::range_reference_t<Range>, std::string_view>
std::string join(Range&& strings, std::string_view separator)
{
    std::string joined;
    bool first = true;
    for (auto&& piece : strings) {
        if (!first)
            joined.append(separator);
        joined.append(std::string_view(piece));
        first = false;
    }
    return joined;
}

} // namespace eventlet
