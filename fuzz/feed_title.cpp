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

namespace {

using fuzz::check;
using fuzz::escaped;

void check_one_line(const std::string& title, const std::string& origin)
{
    for (const char c : title)
        check(c == ' ' || !is_space(c), "a title has no white space but spaces", origin);
    check(title.empty() || (title.front() != ' ' && title.back() != ' '), "a title is trimmed", origin);
    check(title.find("  ") == std::string::npos, "a title has no run of spaces", origin);
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

} // namespace

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
    const std::string feed = "<rss version=\"2.0\"><channel><title>" + xml_escaped(input) +
                             "</title></channel></rss>";
    const std::optional<std::string> text = feed_title(feed);
    check(text.has_value(), "an RSS 2.0 document has a title", escaped(feed));
    check(*text == squeeze(input), "a title's text comes back squeezed",
          escaped(feed) + " -> " + escaped(*text));
    return 0;
}
