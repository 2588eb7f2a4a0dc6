// A body in HTTP/1.1 chunked transfer coding, for the parser targets.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fuzz {

/// `body` sent in chunks of `chunk` bytes, every other one with an
/// extension, and a trailer field after the last chunk.
inline std::string chunked(std::string_view body, std::size_t chunk)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t pos = 0, n = 0; pos < body.size(); pos += chunk, ++n) {
        const std::string_view piece = body.substr(pos, chunk);
        std::string size;
        for (std::size_t v = piece.size(); v > 0; v /= 16)
            size.insert(size.begin(), hex[v % 16]);
        out += size + (n % 2 == 1 ? ";ext=\"v\"" : "") + "\r\n";
        out += piece;
        out += "\r\n";
    }
    return out + "0\r\nX-Trailer: t\r\n\r\n";
}

} // namespace fuzz
