// The extensions of a chunk's size line, checked byte by byte.
#include "chunk_line.hpp"

namespace eventlet::detail {
namespace {

bool is_hex_digit(unsigned char c) noexcept
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 9110 section 5.6.2.
bool is_chunk_ext_tchar(unsigned char c) noexcept
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

bool is_bws(unsigned char c) noexcept { return c == ' ' || c == '\t'; }

// RFC 9110 section 5.6.4: qdtext, and what a quoted-pair may escape.
bool is_qdtext(unsigned char c) noexcept
{
    return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E) ||
           c >= 0x80;
}

bool is_quotable(unsigned char c) noexcept { return c == '\t' || (c >= 0x20 && c != 0x7F); }

} // namespace

void ChunkLineFilter::reset() noexcept
{
    bytes_ = 0;
    state_ = State::off;
}

void ChunkLineFilter::start() noexcept
{
    state_ = State::size;
    digits_ = false;
    size_digits_ = 0;
}

ChunkLineFilter::State ChunkLineFilter::after(State state, unsigned char c) const noexcept
{
    // BWS: around ';' and '=' (a quoted string takes it as text).
    if (is_bws(c) && state != State::quoted && state != State::quoted_pair) {
        switch (state) {
        case State::name:
            return State::name_bws;
        case State::token:
        case State::quoted_done:
            return State::bws;
        case State::bws:
        case State::name_start:
        case State::name_bws:
        case State::value_start:
            return state;
        default:
            return State::off;
        }
    }
    switch (state) {
    case State::name_start:
        return is_chunk_ext_tchar(c) ? State::name : State::off;
    case State::name:
        if (is_chunk_ext_tchar(c))
            return State::name;
        [[fallthrough]];
    case State::name_bws:
        if (c == '=')
            return State::value_start;
        return c == ';' ? State::name_start : State::off;
    case State::value_start:
        if (c == '"')
            return State::quoted;
        return is_chunk_ext_tchar(c) ? State::token : State::off;
    case State::token:
        if (is_chunk_ext_tchar(c))
            return State::token;
        [[fallthrough]];
    case State::bws:
    case State::quoted_done:
        return c == ';' ? State::name_start : State::off;
    case State::quoted:
        if (c == '"')
            return State::quoted_done;
        if (c == '\\')
            return State::quoted_pair;
        return is_qdtext(c) ? State::quoted : State::off;
    case State::quoted_pair:
        return is_quotable(c) ? State::quoted : State::off;
    case State::off:
    case State::size:
        break;
    }
    return State::off;
}

ChunkLineFilter::Step ChunkLineFilter::step(std::string_view data) noexcept
{
    std::size_t n = 0;
    if (state_ == State::size) {
        for (; n < data.size() && is_hex_digit(static_cast<unsigned char>(data[n])); ++n) {
            if (++size_digits_ > max_size_digits)
                return {Action::long_size, n};
        }
        if (n == data.size()) { // what follows the digits comes in the next data
            digits_ = true;
            return {Action::pass, n};
        }
        const auto c = static_cast<unsigned char>(data[n]);
        if ((n == 0 && !digits_) || (c != ';' && !is_bws(c))) {
            state_ = State::off; // no extension: llhttp takes the digits and the rest
            return {Action::pass, 0};
        }
        if (n > 0) { // the digits first, then the extensions
            digits_ = true;
            return {Action::pass, n};
        }
        state_ = State::bws; // takes the ';' or the BWS before it
    }
    for (; n < data.size(); ++n) {
        const auto c = static_cast<unsigned char>(data[n]);
        // The line ends after a name or a value, not after BWS, a ';' or an
        // '=' ("5 \r\n", "5;\r\n", "5;a=\r\n"). A bare LF is no end.
        if (c == '\r' && (state_ == State::name || state_ == State::token || state_ == State::quoted_done)) {
            state_ = State::off;
            return {Action::skip, n};
        }
        const State next = after(state_, c);
        if (next == State::off)
            return {Action::malformed, n};
        if (++bytes_ > max_bytes_)
            return {Action::too_long, n};
        state_ = next;
    }
    return {Action::skip, n};
}

} // namespace eventlet::detail
