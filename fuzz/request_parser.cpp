// Fuzz target: the server's request parser (lib/src/wsgi/request_parser.*),
// driven as the server drives it: feed, take the body, next request.
//
// Input: byte 0 sets the limits on the header section, the request line and
// each header field, byte 1 the body limit, byte 2 the size of the pieces
// the stream arrives in (and the limit on header fields); the rest is what
// a client sent.
// The stream is parsed twice, whole and in pieces: what comes out (requests,
// bodies, the error status) must not depend on where the reads split it.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "check.hpp"
#include "chunked.hpp"
#include "eventlet/wsgi/http_error.hpp"
#include "wsgi/request_parser.hpp"

namespace {

using eventlet::wsgi::HttpError;
using eventlet::wsgi::detail::RequestParser;
using Stage = RequestParser::Stage;
using fuzz::check;
using fuzz::chunked;
using fuzz::escaped;

struct Limits {
    std::size_t max_header;
    std::size_t max_body;
    std::size_t max_fields;
    std::size_t max_line;
    std::size_t max_field_line;
};

// The parser hardened against hostile clients also limits the number of
// header fields, the request line's length and each header field's (431,
// 414, 431), and refuses a field without a name (which llhttp 8.1 lets
// through); the parser before it has only the two byte limits. The target
// builds either.
template <typename Parser>
constexpr bool hardened = requires { typename Parser::Limits; };

template <typename Parser = RequestParser> std::unique_ptr<Parser> make_parser(const Limits& limits)
{
    if constexpr (hardened<Parser>)
        return std::make_unique<Parser>(typename Parser::Limits{
            .max_header_bytes = limits.max_header,
            .max_body_bytes = limits.max_body,
            .max_header_fields = limits.max_fields,
            .max_request_line = limits.max_line,
            .max_header_line = limits.max_field_line,
        });
    else
        return std::make_unique<Parser>(limits.max_header, limits.max_body);
}

bool is_tchar(char c)
{
    const auto u = static_cast<unsigned char>(c);
    return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// What a header section the parser accepted must look like: the server
// copies these into its environ and its logs.
void check_request(const eventlet::wsgi::Request& request, const Limits& limits)
{
    check(!request.method.empty(), "a request has a method");
    for (const char c : request.method)
        check((c >= 'A' && c <= 'Z') || c == '-' || c == '_', "a method is capitals",
              request.method);
    check(!request.target.empty(), "a request has a target");
    for (const char c : request.target)
        check(static_cast<unsigned char>(c) > 0x20 && c != 0x7f,
              "a target has no space or control byte", escaped(request.target));
    check(request.version == "HTTP/1.0" || request.version == "HTTP/1.1",
          "the version is 1.0 or 1.1", escaped(request.version));
    for (const auto& [name, value] : request.headers) {
        check(!name.empty() || !hardened<RequestParser>, "a header name is not empty");
        for (const char c : name)
            check(is_tchar(c), "a header name is a token", escaped(name));
        for (const char c : value)
            check(c != '\r' && c != '\n' && c != '\0', "a header value has no CR, LF or NUL",
                  escaped(value));
        check(value.empty() || (value.front() != ' ' && value.front() != '\t' &&
                                value.back() != ' ' && value.back() != '\t'),
              "a header value has no white space around it", escaped(value));
    }
    if constexpr (hardened<RequestParser>) {
        check(request.headers.size() <= limits.max_fields, "the header fields are within the limit",
              std::to_string(request.headers.size()) + " > " + std::to_string(limits.max_fields));
        check(request.request_line().size() <= limits.max_line,
              "the request line is within the limit", escaped(request.request_line()));
        // A field as sent is at least its name, a colon and its value.
        for (const auto& [name, value] : request.headers)
            check(name.size() + 1 + value.size() <= limits.max_field_line,
                  "a header field is within the limit", escaped(name + ": " + value));
    }
}

// Parses `stream` arriving `piece` bytes at a time; returns what came out.
std::string parse(std::string_view stream, const Limits& limits, std::size_t piece)
{
    const std::unique_ptr<RequestParser> owner = make_parser(limits);
    RequestParser& parser = *owner;
    std::string log;
    std::size_t pos = 0;
    std::size_t head_bytes = 0;
    std::string body;
    try {
        for (;;) {
            const std::string_view data = stream.substr(pos, piece);
            const Stage before = parser.stage();
            std::size_t taken = 0;
            if (data.empty())
                parser.finish(); // the client closed the connection
            else
                taken = parser.feed(data);
            check(taken <= data.size(), "feed() takes at most what it was given");
            pos += taken;
            if (before == Stage::idle || before == Stage::head)
                head_bytes += taken;
            const Stage after = parser.stage();
            if (after != before &&
                (after == Stage::body || (after == Stage::done && before != Stage::body))) {
                check(head_bytes <= limits.max_header,
                      "a header section accepted is within the limit",
                      std::to_string(head_bytes) + " > " + std::to_string(limits.max_header));
                const auto& request = parser.request();
                check_request(request, limits);
                log += request.request_line() + "\n";
                for (const auto& [name, value] : request.headers)
                    log += name + ": " + value + "\n";
            }
            char buffer[37]; // an odd size: takes that end inside what was parsed
            while (parser.body_buffered() > 0) {
                const std::size_t n = parser.take_body(std::span<char>(buffer, sizeof buffer));
                check(n > 0, "take_body() takes something while bytes are buffered");
                body.append(buffer, n);
                check(body.size() <= limits.max_body, "a body accepted is within the limit");
            }
            if (after == Stage::done) {
                log += "body " + std::to_string(body.size()) + ": " + body + "\n";
                body.clear();
                head_bytes = 0;
                parser.next();
                check(parser.stage() == Stage::idle, "next() starts afresh");
            }
            if (data.empty())
                break;
            check(taken > 0 || after != before, "feed() makes progress",
                  escaped(std::string(data)));
        }
        log += "end\n";
    } catch (const HttpError& e) {
        const int status = e.status();
        check(status == 400 || status == 413 || status == 431 || status == 505 ||
                  (status == 414 && hardened<RequestParser>) || status == 501,
              "the parser refuses with 400, 413, 414, 431, 501 or 505", std::to_string(status));
        log += "error " + std::to_string(status) + "\n";
    } catch (const std::exception& e) {
        check(false, "the parser throws nothing but HttpError", e.what());
    }
    return log;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 3)
        return 0;
    const Limits limits{
        .max_header = 16 + std::size_t{data[0]} * 4,
        .max_body = std::size_t{data[1]} * 2,
        .max_fields = 1 + std::size_t{data[2]} / 32 * 3,
        .max_line = 16 + std::size_t{data[0]} * 2,
        .max_field_line = 24 + std::size_t{data[0]} * 3,
    };
    const std::size_t piece = 1 + data[2] % 32;
    const std::string_view stream(reinterpret_cast<const char*>(data) + 3, size - 3);
    const std::string whole = parse(stream, limits, stream.size() + 1);
    const std::string pieces = parse(stream, limits, piece);
    check(whole == pieces, "the same requests, whatever the reads",
          "whole:\n" + escaped(whole) + "\nin pieces of " + std::to_string(piece) + ":\n" +
              escaped(pieces));

    // The same bytes as the chunked body of a well-formed request: the
    // application reads them back as they were sent, trailer dropped.
    const std::string request =
        "POST /in HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
        chunked(stream, piece);
    const std::string expected = "POST /in HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\nbody " +
                                 std::to_string(stream.size()) + ": " + std::string(stream) +
                                 "\nend\n";
    // Chunk extensions count against the header limit (every other chunk
    // has one, of under 8 bytes): room for all of them.
    const Limits roomy{.max_header = 1024 + 8 * stream.size(),
                       .max_body = stream.size(),
                       .max_fields = 100,
                       .max_line = 1024,
                       .max_field_line = 1024};
    const std::string got = parse(request, roomy, 1 + data[0] % 64);
    check(got == expected, "a chunked body comes back as it was sent",
          escaped(request) + "\n->\n" + escaped(got));
    return 0;
}
