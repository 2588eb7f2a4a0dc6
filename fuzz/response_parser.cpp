// Fuzz target: the client's response parser (lib/src/http/response_parser.*),
// chunked bodies included, driven as the client drives it: feed each read
// until the response is complete, finish() when the server closes.
//
// Input: byte 0 sets the header limit and whether the request was a HEAD,
// byte 1 the body limit, byte 2 the size of the pieces the stream arrives
// in (and the limit on header fields); the rest is what a server sent. The stream is parsed whole
// and in pieces: the response (or the error) must be the same.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "check.hpp"
#include "chunked.hpp"
#include "eventlet/http/errors.hpp"
#include "eventlet/http/response.hpp"
#include "http/response_parser.hpp"

namespace {

using eventlet::http::Response;
using eventlet::http::Url;
using eventlet::http::detail::ResponseParser;
using fuzz::check;
using fuzz::chunked;
using fuzz::escaped;

struct Limits {
    bool for_head;
    std::size_t max_header;
    std::size_t max_body;
    std::size_t max_fields;
};

// The parser hardened against hostile servers also limits the number of
// header fields; the parser before it has only the byte limits. The target
// builds either.
// Gaps this target found in what llhttp 8.1 accepts, reported (issue 11)
// and awaiting their fix in lib: a header field with an empty name (": a")
// and a status code of fewer than three digits ("HTTP/1.1 41 X"). They are
// let through while this is false, so that the fuzzing goes on past them;
// the fix sets it to true, and the seeds empty-field-name and
// status-two-digits then keep them checked.
constexpr bool llhttp_gaps_closed = true;

template <typename Parser>
constexpr bool hardened =
    std::is_constructible_v<Parser, Response&, bool, std::size_t, std::size_t, std::size_t>;

template <typename Parser = ResponseParser>
std::unique_ptr<Parser> make_parser(Response& response, const Limits& limits)
{
    if constexpr (hardened<Parser>)
        return std::make_unique<Parser>(response, limits.for_head, limits.max_header,
                                        limits.max_fields, limits.max_body);
    else
        return std::make_unique<Parser>(response, limits.for_head, limits.max_header,
                                        limits.max_body);
}

// The Content-Length of a response framed by one, plain digits; -1 if it
// is framed otherwise (or the field is one the parser may read otherwise).
long long plain_content_length(const Response& response)
{
    if (response.headers.contains("Transfer-Encoding"))
        return -1;
    const auto values = response.headers.get_all("Content-Length");
    if (values.size() != 1 || values[0].empty() || values[0].size() > 12 ||
        values[0].find_first_not_of("0123456789") != std::string_view::npos)
        return -1;
    return std::stoll(std::string(values[0]));
}

void check_response(const Response& response, const Limits& limits)
{
    check(response.status >= (llhttp_gaps_closed ? 100 : 0) && response.status <= 999,
          "the status has three digits", std::to_string(response.status));
    check(response.body.size() <= limits.max_body, "a body accepted is within the limit");
    std::size_t header_bytes = response.reason.size();
    for (const auto& field : response.headers) {
        check(!field.name.empty() || !llhttp_gaps_closed, "a header name is not empty");
        for (const char c : field.value)
            check(c != '\r' && c != '\n', "a header value has no CR or LF", escaped(field.value));
        header_bytes += field.name.size() + field.value.size();
    }
    check(header_bytes <= limits.max_header, "the header section accepted is within the limit");
    if constexpr (hardened<ResponseParser>)
        check(response.headers.size() <= limits.max_fields,
              "the header fields are within the limit",
              std::to_string(response.headers.size()) + " > " + std::to_string(limits.max_fields));
    if (limits.for_head)
        check(response.body.empty(), "a response to HEAD has no body");
    const bool bodiless = limits.for_head || response.status < 200 || response.status == 204 ||
                          response.status == 304;
    const long long length = plain_content_length(response);
    if (!bodiless && length >= 0)
        check(static_cast<long long>(response.body.size()) == length,
              "the body is as long as Content-Length says",
              std::to_string(response.body.size()) + " != " + std::to_string(length));
}

std::string parse(std::string_view stream, const Limits& limits, std::size_t piece)
{
    Response response{.url = Url::parse("http://fuzz.test/feed")};
    const std::unique_ptr<ResponseParser> owner = make_parser(response, limits);
    ResponseParser& parser = *owner;
    std::string log;
    try {
        std::size_t pos = 0;
        for (;;) {
            const std::string_view data = stream.substr(pos, piece);
            pos += data.size();
            if (data.empty()) {
                parser.finish();
                break;
            }
            if (parser.feed(data))
                break;
        }
        check_response(response, limits);
        log += std::to_string(response.status) + " " + response.reason + " HTTP/" +
               std::to_string(response.version_major) + "." +
               std::to_string(response.version_minor) + "\n";
        for (const auto& field : response.headers)
            log += field.name + ": " + field.value + "\n";
        log += "body " + std::to_string(response.body.size()) + ": " + response.body + "\n";
    } catch (const eventlet::http::Error& e) {
        // Which error comes first may depend on the reads: the header limit
        // is counted as llhttp hands over a field, at its end or at the end
        // of a read, so bytes past the limit may hold a syntax error that the
        // whole stream reports first. That both are refused is what matters.
        check(dynamic_cast<const eventlet::http::ResponseTooLarge*>(&e) != nullptr ||
                  dynamic_cast<const eventlet::http::ProtocolError*>(&e) != nullptr,
              "a response is refused with ProtocolError or ResponseTooLarge", e.what());
        log += "refused\n";
    } catch (const std::exception& e) {
        check(false, "the parser throws nothing but ProtocolError and ResponseTooLarge", e.what());
    }
    return log;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 3)
        return 0;
    const Limits limits{
        .for_head = (data[0] & 1) != 0,
        .max_header = 16 + std::size_t{data[0]} * 4,
        .max_body = std::size_t{data[1]} * 2,
        .max_fields = 1 + std::size_t{data[2]} / 32 * 3,
    };
    const std::size_t piece = 1 + data[2] % 32;
    const std::string_view stream(reinterpret_cast<const char*>(data) + 3, size - 3);
    const std::string whole = parse(stream, limits, stream.size() + 1);
    const std::string pieces = parse(stream, limits, piece);
    check(whole == pieces, "the same response, whatever the reads",
          "whole:\n" + escaped(whole) + "\nin pieces of " + std::to_string(piece) + ":\n" +
              escaped(pieces));

    // The same bytes as the body of a well-formed chunked response, in
    // chunks of the piece size: the body comes back as it was sent.
    const std::string message =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(stream, piece);
    // Chunk extensions count against the header limit (every other chunk
    // has one, of under 8 bytes): room for all of them.
    const Limits roomy{.for_head = false,
                       .max_header = 1024 + 8 * stream.size(),
                       .max_body = stream.size(),
                       .max_fields = 100};
    // The trailer field comes after the header fields today (RFC 9110, 6.5.1,
    // would rather it were dropped or kept apart): either is accepted here.
    const std::string head = "200 OK HTTP/1.1\nTransfer-Encoding: chunked\n";
    const std::string body =
        "body " + std::to_string(stream.size()) + ": " + std::string(stream) + "\n";
    const std::string got = parse(message, roomy, 1 + data[0] % 64);
    check(got == head + body || got == head + "X-Trailer: t\n" + body,
          "a chunked body comes back as it was sent", escaped(message) + "\n->\n" + escaped(got));
    return 0;
}
