// Fuzz target: undoing a response's content coding (lib/src/http/content_coding.*),
// the gzip and deflate bodies urlopen() decodes when Options::decompress asks.
//
// Input: byte 0 chooses the Content-Encoding, byte 1 the limit on the decoded
// body (1 KiB to 256 KiB); the rest is the body as a server sent it. Whatever
// the body, decoding gives a body within the limit or throws ProtocolError or
// ResponseTooLarge. The rest is also compressed here, in the format chosen,
// and must decode back to itself (or be refused as too large, when it is).
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "check.hpp"
#include "eventlet/http/errors.hpp"
#include "eventlet/http/response.hpp"
#include "http/content_coding.hpp"

namespace {

using eventlet::http::ProtocolError;
using eventlet::http::Response;
using eventlet::http::ResponseTooLarge;
using eventlet::http::Url;
using fuzz::check;
using fuzz::escaped;

struct Coding {
    const char* header;  // the Content-Encoding sent
    int window_bits;     // zlib's for compressing it: 16 + 15 gzip, 15 zlib, -15 bare; 0 none
};

constexpr Coding codings[] = {
    {"gzip", 16 + MAX_WBITS}, {"x-gzip", 16 + MAX_WBITS}, {"deflate", MAX_WBITS},
    {"deflate", -MAX_WBITS},  {"identity", 0},             {"GZip , identity", 16 + MAX_WBITS},
    {"br", 0},
};

// What decoding gives: the body, or which error.
struct Outcome {
    std::optional<std::string> body;
    bool too_large = false;
};

Outcome decode(std::string_view coding, std::string body, std::size_t limit)
{
    Response response{.url = Url::parse("http://fuzz/")};
    response.headers.add("Content-Encoding", std::string(coding));
    response.body = std::move(body);
    try {
        eventlet::http::detail::decode_content(response, limit);
        return {std::move(response.body), false};
    } catch (const ResponseTooLarge&) {
        return {std::nullopt, true};
    } catch (const ProtocolError&) {
        return {std::nullopt, false};
    } catch (const std::exception& e) {
        check(false, "decoding throws nothing but ProtocolError and ResponseTooLarge", e.what());
    }
    return {};
}

std::string compressed(const std::string& text, int window_bits)
{
    z_stream stream{};
    check(deflateInit2(&stream, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK,
          "zlib starts");
    std::string out(deflateBound(&stream, text.size()), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    stream.avail_in = static_cast<uInt>(text.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    check(deflate(&stream, Z_FINISH) == Z_STREAM_END, "zlib compresses");
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2)
        return 0;
    const Coding& coding = codings[data[0] % std::size(codings)];
    const std::size_t limit = std::size_t{1024} << (data[1] % 9);
    const std::string rest(reinterpret_cast<const char*>(data) + 2, size - 2);

    // Any body: within the limit, or refused.
    const Outcome any = decode(coding.header, rest, limit);
    if (any.body) {
        check(any.body->size() <= limit, "a decoded body is within the limit",
              std::to_string(any.body->size()) + " > " + std::to_string(limit));
        if (coding.window_bits == 0 && std::string_view(coding.header) == "identity")
            check(*any.body == rest, "identity leaves the body as it is");
    }
    if (std::string_view(coding.header) == "br")
        check((!any.body && !any.too_large) || rest.empty(), "a coding not asked for is a ProtocolError");

    // A body compressed as its header says: comes back as it was.
    if (coding.window_bits != 0) {
        const Outcome round_trip = decode(coding.header, compressed(rest, coding.window_bits), limit);
        if (rest.size() <= limit)
            check(round_trip.body && *round_trip.body == rest, "a compressed body decodes to itself",
                  coding.header + std::string(": ") + escaped(rest.substr(0, 64)));
        else
            check(round_trip.too_large, "a body over the limit is refused as too large", coding.header);
    }
    return 0;
}
