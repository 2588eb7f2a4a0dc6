// Fuzz target: the server's request parser (lib/src/wsgi/request_parser.*),
// driven as the server drives it: feed, take the body, next request.
//
// Input: byte 0 sets the header limit, byte 1 the body limit, byte 2 the
// size of the pieces the stream arrives in; the rest is what a client sent.
// The stream is parsed twice, whole and in pieces: what comes out (requests,
// bodies, the error status) must not depend on where the reads split it.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>
#include <string>
#include <string_view>

#include "check.hpp"
#include "eventlet/wsgi/http_error.hpp"
#include "wsgi/request_parser.hpp"

namespace {

using eventlet::wsgi::HttpError;
using eventlet::wsgi::detail::RequestParser;
using Stage = RequestParser::Stage;
using fuzz::check;
using fuzz::escaped;

bool is_tchar(char c)
{
    const auto u = static_cast<unsigned char>(c);
    return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// What a header section the parser accepted must look like: the server
// copies these into its environ and its logs.
void check_request(const eventlet::wsgi::Request& request)
{
    check(!request.method.empty(), "a request has a method");
    for (const char c : request.method)
        check((c >= 'A' && c <= 'Z') || c == '-' || c == '_', "a method is capitals", request.method);
    check(!request.target.empty(), "a request has a target");
    for (const char c : request.target)
        check(static_cast<unsigned char>(c) > 0x20 && c != 0x7f, "a target has no space or control byte",
              escaped(request.target));
    check(request.version == "HTTP/1.0" || request.version == "HTTP/1.1", "the version is 1.0 or 1.1",
          escaped(request.version));
    for (const auto& [name, value] : request.headers) {
        check(!name.empty() || !fuzz::llhttp_gaps_fixed, "a header name is not empty");
        for (const char c : name)
            check(is_tchar(c), "a header name is a token", escaped(name));
        for (const char c : value)
            check(c != '\r' && c != '\n' && c != '\0', "a header value has no CR, LF or NUL", escaped(value));
        check(value.empty() || (value.front() != ' ' && value.front() != '\t' && value.back() != ' ' &&
                                value.back() != '\t'),
              "a header value has no white space around it", escaped(value));
    }
}

// Parses `stream` arriving `piece` bytes at a time; returns what came out.
std::string parse(std::string_view stream, std::size_t max_header, std::size_t max_body, std::size_t piece)
{
    RequestParser parser(max_header, max_body);
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
            if (after != before && (after == Stage::body || (after == Stage::done && before != Stage::body))) {
                check(head_bytes <= max_header, "a header section accepted is within the limit",
                      std::to_string(head_bytes) + " > " + std::to_string(max_header));
                const auto& request = parser.request();
                check_request(request);
                log += request.request_line() + "\n";
                for (const auto& [name, value] : request.headers)
                    log += name + ": " + value + "\n";
            }
            char buffer[37]; // an odd size: takes that end inside what was parsed
            while (parser.body_buffered() > 0) {
                const std::size_t n = parser.take_body(std::span<char>(buffer, sizeof buffer));
                check(n > 0, "take_body() takes something while bytes are buffered");
                body.append(buffer, n);
                check(body.size() <= max_body, "a body accepted is within the limit");
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
            check(taken > 0 || after != before, "feed() makes progress", escaped(std::string(data)));
        }
        log += "end\n";
    } catch (const HttpError& e) {
        const int status = e.status();
        check(status == 400 || status == 413 || status == 431 || status == 505,
              "the parser refuses with 400, 413, 431 or 505", std::to_string(status));
        log += "error " + std::to_string(status) + "\n";
    } catch (const std::exception& e) {
        check(false, "the parser throws nothing but HttpError", e.what());
    }
    return log;
}

// `body` sent in chunks of `chunk` bytes, every other one with an extension.
std::string chunked(std::string_view body, std::size_t chunk)
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

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 3)
        return 0;
    const std::size_t max_header = 16 + std::size_t{data[0]} * 4;
    const std::size_t max_body = std::size_t{data[1]} * 2;
    const std::size_t piece = 1 + data[2] % 32;
    const std::string_view stream(reinterpret_cast<const char*>(data) + 3, size - 3);
    const std::string whole = parse(stream, max_header, max_body, stream.size() + 1);
    const std::string pieces = parse(stream, max_header, max_body, piece);
    check(whole == pieces, "the same requests, whatever the reads",
          "whole:\n" + escaped(whole) + "\nin pieces of " + std::to_string(piece) + ":\n" + escaped(pieces));

    // The same bytes as the chunked body of a well-formed request: the
    // application reads them back as they were sent, trailer dropped.
    const std::string request = "POST /in HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                chunked(stream, piece);
    const std::string expected = "POST /in HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\nbody " +
                                 std::to_string(stream.size()) + ": " + std::string(stream) + "\nend\n";
    const std::string got = parse(request, 1024, stream.size(), 1 + data[0] % 64);
    check(got == expected, "a chunked body comes back as it was sent", escaped(request) + "\n->\n" + escaped(got));
    return 0;
}
