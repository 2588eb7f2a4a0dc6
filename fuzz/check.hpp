// What every target uses to say an invariant broke: a message, then abort(),
// which libFuzzer reports as a crash and saves the input of.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace fuzz {

/// Stops the run if `condition` is false, printing what was expected.
inline void check(bool condition, const char* expected, const std::string& detail = {})
{
    if (condition)
        return;
    std::fprintf(stderr, "invariant broken: %s\n", expected);
    if (!detail.empty())
        std::fprintf(stderr, "%s\n", detail.c_str());
    std::abort();
}

/// The bytes of `text` as a C string literal would write them, for messages.
inline std::string escaped(const std::string& text)
{
    std::string out;
    for (const unsigned char c : text) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    return out;
}

} // namespace fuzz
