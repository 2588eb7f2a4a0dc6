// Parsing http:// URLs, and resolving references against them (RFC 3986).
#include "eventlet/http/url.hpp"

#include <string>

namespace eventlet::http {
namespace {

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string lower(std::string_view text)
{
    std::string result(text);
    for (char& c : result)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return result;
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The length of the scheme that starts `text` ("http" in "http://x"), or
// 0 if it starts with none: a letter, then letters, digits, '+', '-', '.',
// then a ':' (RFC 3986, 3.1). "localhost:80" has one too, "localhost".
std::size_t scheme_length(std::string_view text)
{
    if (text.empty() || !is_alpha(text.front()))
        return 0;
    std::size_t i = 1;
    while (i < text.size() && (is_alpha(text[i]) || is_digit(text[i]) || text[i] == '+' ||
                               text[i] == '-' || text[i] == '.'))
        ++i;
    return i < text.size() && text[i] == ':' ? i : 0;
}

std::uint16_t default_port(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

std::uint16_t parse_port(std::string_view port, std::string_view scheme, std::string_view whole)
{
    if (port.empty())
        return default_port(scheme); // "http://host:/" is allowed, and means the default port
    unsigned long value = 0;
    const bool digits = port.size() <= 5 && port.find_first_not_of("0123456789") == std::string_view::npos;
    if (digits)
        value = std::stoul(std::string(port));
    if (!digits || value == 0 || value > 65535)
        throw UrlError(quoted(whole) + " has an invalid port '" + std::string(port) +
                       "': a port is a number from 1 to 65535");
    return static_cast<std::uint16_t>(value);
}

// The path and query as they go on the request line. A space or a control
// character there would end the request line early: "GET /a HTTP/1.1\r\n
// X-Injected: 1 HTTP/1.1" is a classic request-splitting attack, so they
// are refused. Bytes outside ASCII (UTF-8 text) are percent-encoded.
std::string checked_target(std::string_view rest, std::string_view whole)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string target = rest.empty() || rest.front() == '?' ? "/" : "";
    for (char c : rest) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte == 0x7f)
            throw UrlError(quoted(whole) + " contains a space or a control character (byte " +
                           std::to_string(byte) + "): percent-encode it (a space is %20)");
        if (byte >= 0x80) {
            target += '%';
            target += hex[byte >> 4];
            target += hex[byte & 0xf];
        } else {
            target += c;
        }
    }
    return target;
}

// Removes the "." and ".." segments of a path (RFC 3986, 5.2.4), so that
// "/a/b/../c" and "/a/./c" both become "/a/c".
std::string remove_dot_segments(std::string_view path)
{
    std::string input(path);
    std::string output;
    auto drop_last_segment = [&output] {
        const std::size_t slash = output.rfind('/');
        output.erase(slash == std::string::npos ? 0 : slash);
    };
    while (!input.empty()) {
        if (input.starts_with("../")) {
            input.erase(0, 3);
        } else if (input.starts_with("./") || input.starts_with("/./")) {
            input.erase(0, 2);
        } else if (input == "/.") {
            input = "/";
        } else if (input.starts_with("/../")) {
            input.erase(0, 3);
            drop_last_segment();
        } else if (input == "/..") {
            input = "/";
            drop_last_segment();
        } else if (input == "." || input == "..") {
            input.clear();
        } else {
            const std::size_t end = input.find('/', input.front() == '/' ? 1 : 0);
            output += input.substr(0, end);
            input.erase(0, end == std::string::npos ? input.size() : end);
        }
    }
    return output;
}

} // namespace

Url Url::parse(std::string_view text)
{
    const std::size_t scheme_end = scheme_length(text);
    if (text.empty())
        throw UrlError("an empty string is not a URL");
    if (scheme_end == 0)
        throw UrlError(quoted(text) + " has no scheme: write an absolute URL, such as http://" +
                       std::string(text));
    const std::string scheme = lower(text.substr(0, scheme_end));
    if (scheme != "http" && scheme != "https")
        throw UnsupportedScheme(quoted(text) + ": the scheme '" + scheme +
                                "' is not supported (only http:// and https:// URLs)");

    std::string_view rest = text.substr(scheme_end + 1);
    if (!rest.starts_with("//"))
        throw UrlError(quoted(text) + " has no host: write http://host/path");
    rest.remove_prefix(2);
    rest = rest.substr(0, rest.find('#')); // the fragment is the browser's, never sent
    const std::size_t authority_end = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, authority_end);
    const std::string_view target =
        authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);

    if (authority.find('@') != std::string_view::npos)
        throw UrlError(quoted(text) + " holds credentials (user@host), which urlopen does not send");
    std::string_view host;
    std::string_view port;
    std::string zone_fixed; // the bracketed host, its zone's "%25" made "%"
    if (authority.starts_with('[')) {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos)
            throw UrlError(quoted(text) + " has an IPv6 address without its closing ']'");
        host = authority.substr(1, close - 1);
        zone_fixed = std::string(host);
        // RFC 6874 writes a zone in a URL with its '%' escaped: [fe80::1%25eth0].
        if (const std::size_t escaped = zone_fixed.find("%25"); escaped != std::string::npos) {
            zone_fixed.erase(escaped + 1, 2);
            host = zone_fixed;
        }
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':')
            throw UrlError(quoted(text) + " has '" + std::string(after) +
                           "' after its IPv6 address, where only :port may follow");
        if (!after.empty())
            port = after.substr(1);
        if (host.find(':') == std::string_view::npos)
            throw UrlError(quoted(text) + ": brackets are for IPv6 addresses, and '" +
                           std::string(host) + "' is not one");
    } else {
        const std::size_t colon = authority.find(':');
        if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos)
            throw UrlError(quoted(text) + " has an IPv6 address without brackets: write http://[" +
                           std::string(authority) + "]/");
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos)
            port = authority.substr(colon + 1);
    }
    if (host.empty())
        throw UrlError(quoted(text) + " has no host: write http://host/path");

    Url url;
    url.scheme_ = scheme;
    url.host_ = lower(host);
    url.port_ = parse_port(port, scheme, text);
    try {
        (void)url.address(); // the same checks as every Address: "300.1.2.3", "bad_host!"
    } catch (const AddressError& e) {
        throw UrlError(quoted(text) + ": " + e.what());
    }
    url.target_ = checked_target(target, text);
    return url;
}

std::string_view Url::path() const noexcept
{
    return std::string_view(target_).substr(0, target_.find('?'));
}

std::string_view Url::query() const noexcept
{
    const std::size_t mark = target_.find('?');
    return mark == std::string::npos ? std::string_view() : std::string_view(target_).substr(mark + 1);
}

std::string Url::authority() const
{
    std::string result = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
    if (port_ != default_port(scheme_))
        result += ":" + std::to_string(port_);
    return result;
}

std::string Url::to_string() const { return scheme_ + "://" + authority() + target_; }

Url Url::resolve(std::string_view reference) const
{
    reference = reference.substr(0, reference.find('#'));
    if (scheme_length(reference) > 0)
        return parse(reference);
    if (reference.starts_with("//"))
        return parse(scheme_ + ":" + std::string(reference));
    if (reference.empty())
        return *this;
    const std::size_t mark = reference.find('?');
    const std::string_view ref_path = reference.substr(0, mark);
    const std::string_view ref_query =
        mark == std::string_view::npos ? std::string_view() : reference.substr(mark);
    std::string target;
    if (ref_path.empty()) {
        target = std::string(path()) + std::string(ref_query); // "?page=2"
    } else if (ref_path.front() == '/') {
        target = remove_dot_segments(ref_path) + std::string(ref_query);
    } else {
        // Relative to this page's folder: "b.html" beside "/a/index.html".
        const std::string_view base = path();
        const std::string folder(base.substr(0, base.rfind('/') + 1));
        target = remove_dot_segments(folder + std::string(ref_path)) + std::string(ref_query);
    }
    return parse(scheme_ + "://" + authority() + target);
}

} // namespace eventlet::http
