// Fuzz target: Url::parse and Url::resolve (lib/include/eventlet/http/url.hpp).
//
// Input: a base URL, a line feed, a reference ("../a?b", "//host/x", an
// absolute URL); without a line feed, the whole input is both. A base that
// does not parse is replaced by RFC 3986's example base, so that every
// input exercises resolve().
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "check.hpp"
#include "eventlet/http/errors.hpp"
#include "eventlet/http/url.hpp"

namespace {

using eventlet::http::Url;
using fuzz::check;
using fuzz::escaped;

std::optional<Url> try_parse(std::string_view text)
{
    try {
        return Url::parse(text);
    } catch (const eventlet::http::UrlError&) {
        return std::nullopt;
    } catch (const std::exception& e) {
        check(false, "Url::parse throws nothing but UrlError",
              escaped(std::string(text)) + ": " + e.what());
    }
    return std::nullopt;
}

// What every Url must satisfy, whichever way it was made.
void check_url(const Url& url, const std::string& origin)
{
    check(url.scheme() == "http" || url.scheme() == "https", "the scheme is http or https", origin);
    const std::uint16_t default_port = url.scheme() == "https" ? 443 : 80;
    check((url.port() == default_port) == (url.authority().find(']') == std::string::npos
                                               ? url.authority().find(':') == std::string::npos
                                               : url.authority().back() == ']'),
          "the authority names the port unless it is the scheme's default", origin);
    check(!url.host().empty(), "a URL has a host", origin);
    check(url.port() != 0, "a port is 1 to 65535", origin);
    check(!url.target().empty() && url.target().front() == '/', "a target starts with '/'",
          origin + " -> " + escaped(url.target()));
    for (const char c : url.target()) {
        const auto byte = static_cast<unsigned char>(c);
        check(byte > 0x20 && byte < 0x7f && c != '#', "a target is printable ASCII without '#'",
              origin + " -> " + escaped(url.target()));
    }
    check(std::string(url.path()) +
                  (url.query().empty() && url.target().find('?') == std::string::npos
                       ? ""
                       : "?" + std::string(url.query())) ==
              url.target(),
          "path and query make up the target", origin);
    const std::string text = url.to_string();
    const std::optional<Url> again = try_parse(text);
    check(again.has_value(), "to_string() parses", origin + " -> " + escaped(text));
    check(*again == url, "to_string() parses back to the same URL",
          origin + " -> " + escaped(text));
    check(again->to_string() == text, "to_string() is stable", origin + " -> " + escaped(text));
}

// True if `segment` is "." or "..", which a resolved path must not hold.
bool has_dot_segment(std::string_view path)
{
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos)
            end = path.size();
        const std::string_view segment = path.substr(start, end - start);
        if (segment == "." || segment == "..")
            return true;
        start = end + 1;
    }
    return false;
}

bool has_scheme(std::string_view text)
{
    if (text.empty() || !((text[0] >= 'a' && text[0] <= 'z') || (text[0] >= 'A' && text[0] <= 'Z')))
        return false;
    const std::size_t colon = text.find(':');
    return colon != std::string_view::npos &&
           text.substr(0, colon).find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
               "0123456789+-.") == std::string_view::npos;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t newline = input.find('\n');
    const std::string_view base_text = input.substr(0, newline);
    const std::string_view reference =
        newline == std::string_view::npos ? input : input.substr(newline + 1);

    std::optional<Url> base = try_parse(base_text);
    if (base)
        check_url(*base, escaped(std::string(base_text)));
    else
        base = Url::parse("http://a/b/c/d;p?q");

    std::optional<Url> resolved;
    try {
        resolved = base->resolve(reference);
    } catch (const eventlet::http::UrlError&) {
        return 0;
    } catch (const std::exception& e) {
        check(false, "Url::resolve throws nothing but UrlError", e.what());
    }
    const std::string origin = escaped(base->to_string()) + " + " + escaped(std::string(reference));
    check_url(*resolved, origin);
    // An absolute URL resolves to itself, against any base.
    check(base->resolve(resolved->to_string()) == *resolved, "a resolved URL resolves to itself",
          origin);
    const std::string_view ref = reference.substr(0, reference.find('#'));
    const std::string_view ref_path = ref.substr(0, ref.find('?'));
    if (!has_scheme(ref) && !ref.starts_with("//") && !ref_path.empty())
        check(!has_dot_segment(resolved->path()), "a resolved path has no '.' or '..' segment",
              origin + " -> " + escaped(resolved->to_string()));
    if (ref.empty())
        check(*resolved == *base, "an empty reference is the base itself", origin);
    return 0;
}
