// Fuzz target: the feed title extraction of lib/examples/feedscraper.cpp
// (feed_title(): pugixml, the namespaces of RSS 0.9x/1.0/2.0 and Atom, the
// HTML of an Atom title of type="html").
//
// The program is compiled into this target, its main() renamed: feed_title()
// lives in the program's anonymous namespace, visible to this file alone.
//
// Input: a feed document. Its title, when it has one, must read as one
// line; and the same bytes, escaped as the text of an RSS 2.0 title, must
// come back as that text with its white space squeezed.
// LDLIBS: -lpugixml
#define main feedscraper_main
#include "../lib/examples/feedscraper.cpp"
#undef main

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "check.hpp"

// Not the anonymous namespace: the program's names are there, and these
// must not collide with a name the program gains.
namespace feed_title_target {

using fuzz::check;
using fuzz::escaped;

void check_one_line(const std::string& title, const std::string& origin)
{
    for (const char c : title)
        check(c == ' ' || !is_space(c), "a title has no white space but spaces", origin);
    check(title.empty() || (title.front() != ' ' && title.back() != ' '), "a title is trimmed",
          origin);
    check(title.find("  ") == std::string::npos, "a title has no run of spaces", origin);
}

// Well-formed UTF-8 (Unicode 15, table 3-7): no stray continuation byte,
// no overlong form, no surrogate, nothing past U+10FFFF.
bool is_well_formed_utf8(std::string_view text)
{
    for (std::size_t i = 0; i < text.size();) {
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t length = 1;
        unsigned char low = 0x80, high = 0xBF;
        if (lead < 0x80)
            length = 1;
        else if (lead >= 0xC2 && lead <= 0xDF)
            length = 2;
        else if (lead >= 0xE0 && lead <= 0xEF)
            length = 3, low = lead == 0xE0 ? 0xA0 : 0x80, high = lead == 0xED ? 0x9F : 0xBF;
        else if (lead >= 0xF0 && lead <= 0xF4)
            length = 4, low = lead == 0xF0 ? 0x90 : 0x80, high = lead == 0xF4 ? 0x8F : 0xBF;
        else
            return false;
        if (i + length > text.size())
            return false;
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF))
                return false;
        }
        i += length;
    }
    return true;
}

std::string xml_escaped(std::string_view text)
{
    std::string out;
    for (const char c : text) {
        if (c == '&')
            out += "&amp;";
        else if (c == '<')
            out += "&lt;";
        else if (c == '>')
            out += "&gt;";
        else
            out += c;
    }
    return out;
}

} // namespace feed_title_target

using namespace feed_title_target;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::optional<std::string> title = feed_title(input);
    if (title)
        check_one_line(*title, escaped(std::string(input)) + " -> " + escaped(*title));

    // pugixml ends a document's text at a NUL byte; and a '\r' is read as a
    // line end, which squeeze() makes a space as it does '\n'.
    if (input.find('\0') != std::string_view::npos)
        return 0;
    const std::string feed =
        "<rss version=\"2.0\"><channel><title>" + xml_escaped(input) + "</title></channel></rss>";
    const std::optional<std::string> text = feed_title(feed);
    check(text.has_value(), "an RSS 2.0 document has a title", escaped(feed));
    // A program that also makes the title valid UTF-8 and bounds its length
    // changes only what is not, or is long: the rest comes back as it is.
    const std::string expected = squeeze(input);
    if (is_well_formed_utf8(expected) && expected.size() <= 1000)
        check(*text == expected, "a title's text comes back squeezed",
              escaped(feed) + " -> " + escaped(*text));
    return 0;
}
