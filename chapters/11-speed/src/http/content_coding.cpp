// Content codings undone with zlib, within the body's size limit.
#include "http/content_coding.hpp"

#include <zlib.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eventlet/http/errors.hpp"

namespace eventlet::http::detail {
namespace {

std::string lower(std::string_view text)
{
    std::string result(text);
    std::transform(result.begin(), result.end(), result.begin(),
                   [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
    return result;
}

// The codings of a Content-Encoding value, in the order they were applied.
std::vector<std::string> codings_of(std::string_view value)
{
    std::vector<std::string> codings;
    while (!value.empty()) {
        const std::size_t comma = value.find(',');
        std::string_view item = value.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
            item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
            item.remove_suffix(1);
        if (!item.empty())
            codings.push_back(lower(item));
        value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    }
    return codings;
}

// zlib's inflate, freed however the decoding ends.
class Inflater {
public:
    explicit Inflater(int window_bits)
    {
        if (inflateInit2(&stream_, window_bits) != Z_OK)
            throw ProtocolError("cannot start zlib to decode the body");
    }
    ~Inflater() { inflateEnd(&stream_); }
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;
    z_stream& stream() noexcept { return stream_; }

private:
    z_stream stream_{};
};

// Inflates `input` with `window_bits` (gzip: 16 + 15; zlib: 15; raw
// deflate: -15). Returns nothing for data zlib calls invalid before any
// output, so that deflate can be tried again without its zlib wrapper.
std::optional<std::string> inflate_all(std::string_view input, int window_bits, std::size_t limit,
                                       const std::string& coding)
{
    Inflater inflater(window_bits);
    z_stream& stream = inflater.stream();
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
    stream.avail_in = static_cast<uInt>(input.size());
    std::string output;
    char chunk[64 * 1024];
    for (;;) {
        stream.next_out = reinterpret_cast<Bytef*>(chunk);
        stream.avail_out = sizeof chunk;
        const int status = inflate(&stream, Z_NO_FLUSH);
        output.append(chunk, sizeof chunk - stream.avail_out);
        // A bomb is stopped as soon as it passes the limit, not after.
        if (output.size() > limit)
            throw ResponseTooLarge("the " + coding + " body decodes to more than " + std::to_string(limit) +
                                   " bytes (Options::max_body_size)");
        if (status == Z_STREAM_END) {
            if (stream.avail_in == 0)
                return output;
            // gzip allows members one after the other (RFC 1952, 2.2): more
            // bytes are another member only if they start as one.
            const bool next_member = window_bits > 15 && stream.avail_in >= 2 && stream.next_in[0] == 0x1f &&
                                     stream.next_in[1] == 0x8b;
            if (next_member && inflateReset(&stream) == Z_OK)
                continue;
            throw ProtocolError("the " + coding + " body has bytes after its end");
        }
        if (status == Z_DATA_ERROR && output.empty() && stream.total_in <= 2)
            return std::nullopt;
        if (status == Z_BUF_ERROR && stream.avail_in == 0)
            throw ProtocolError("the " + coding + " body ends before its compressed stream does");
        if (status != Z_OK)
            throw ProtocolError("the " + coding + " body does not decode: " +
                                (stream.msg != nullptr ? stream.msg : "zlib error " + std::to_string(status)));
    }
}

std::string decode_one(const std::string& coding, std::string_view body, std::size_t limit)
{
    if (coding == "gzip" || coding == "x-gzip") {
        if (auto decoded = inflate_all(body, 16 + MAX_WBITS, limit, coding))
            return std::move(*decoded);
        throw ProtocolError("the gzip body does not decode: it has no gzip header");
    }
    // "deflate" is the zlib format (RFC 9110, 8.4.1.2), but servers have
    // long sent bare deflate data under that name: browsers accept both.
    if (auto decoded = inflate_all(body, MAX_WBITS, limit, coding))
        return std::move(*decoded);
    if (auto decoded = inflate_all(body, -MAX_WBITS, limit, coding))
        return std::move(*decoded);
    throw ProtocolError("the deflate body does not decode");
}

} // namespace

void decode_content(Response& response, std::size_t max_body_size)
{
    const auto value = response.headers.get("Content-Encoding");
    if (!value || response.body.empty())
        return;
    std::vector<std::string> codings = codings_of(*value);
    // Undone last first: "gzip, deflate" was gzipped, then deflated.
    for (auto coding = codings.rbegin(); coding != codings.rend(); ++coding) {
        if (*coding == "identity")
            continue;
        if (*coding != "gzip" && *coding != "x-gzip" && *coding != "deflate")
            throw ProtocolError("the body is encoded with '" + *coding +
                                "', which was not asked for (only gzip and deflate are decoded)");
        response.body = decode_one(*coding, response.body, max_body_size);
    }
}

} // namespace eventlet::http::detail
