// ChunkLineFilter: the extensions of a chunked body's size lines, checked
// here and kept from llhttp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace eventlet::detail {

/// Takes the extensions out of each size line of a chunked body before
/// llhttp sees them, after checking them against RFC 9112 section 7.1.1:
///
///     chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
///
/// llhttp 8.1 (Debian 12's) gets them wrong: after an unquoted value it
/// takes the ';' and then wants another ("5;a=b;c=d" is refused; fixed in
/// llhttp 9.1.3), it refuses the BWS ("5 ;a", "5; a"), and it passes over
/// ";;;;" without a callback, so that no limit counted those bytes. llhttp
/// sees "5\r\n": the size's digits, then the line's CR and all that follows.
/// What does not begin an extension (a space before the size, "0x5", a bare
/// LF or any other byte after the size) still reaches llhttp, which refuses
/// it as before; an extension that breaks the grammar is refused here
/// (malformed), a bare LF or a CR inside one included.
///
/// Nobody sends extensions, and they are not kept; unbounded, a peer could
/// send one without end, a byte at a time, and hold the connection as a
/// slowloris does: all of a message's count against a limit (the header
/// section's), separators and white space included.
///
/// The size's digits are counted too: llhttp refuses a size past 64 bits
/// but takes leading zeros without end, and a peer sending one a second
/// would hold the connection as well. Up to max_size_digits are taken,
/// leading zeros included (as many as 16 of them before a 16-digit size).
///
/// The parser driving llhttp calls start() where a size line begins (after
/// the header section of a chunked message, and after each chunk but the
/// last), then step() while active(). The state is kept from one call to
/// the next: a line may arrive in any number of reads.
class ChunkLineFilter {
public:
    /// What to do with the first `length` bytes of the data given to step().
    enum class Action : std::uint8_t {
        pass,      ///< give them to llhttp (the size's digits); 0 bytes: the
                   ///< line has no extension left, active() is false now, and
                   ///< llhttp takes the rest (the CR, or a byte it refuses)
        skip,      ///< drop them: extension bytes, checked
        malformed, ///< refuse the message: the extensions break RFC 9112
        too_long,  ///< refuse the message: its extensions exceed the limit
        long_size, ///< refuse the message: the size has more than max_size_digits
    };
    /// The most digits a chunk size may have, leading zeros included.
    static constexpr std::size_t max_size_digits = 32;

    /// What step() found: what to do, with how many bytes.
    struct Step {
        Action action;
        std::size_t length;
    };

    /// A filter allowing `max_extension_bytes` of extensions in a message,
    /// separators and white space included.
    explicit ChunkLineFilter(std::size_t max_extension_bytes) noexcept : max_bytes_(max_extension_bytes) {}

    /// A new message: nothing counted, no size line under way.
    void reset() noexcept;
    /// The next byte begins a chunk's size line.
    void start() noexcept;
    /// Inside a size line, before its CR.
    bool active() const noexcept { return state_ != State::off; }
    /// While active(): what to do with the first bytes of `data` (not empty).
    Step step(std::string_view data) noexcept;

private:
    enum class State : std::uint8_t {
        off,         // not in a size line
        size,        // the size's digits
        bws,         // after the size or a value: BWS, then ';'
        name_start,  // after ';': BWS, then a name
        name,        // a name: ';', '=', BWS or the CR may follow
        name_bws,    // BWS after a name: ';' or '=' must follow
        value_start, // after '=': BWS, then a token or a quoted string
        token,       // a token value
        quoted,      // inside a quoted string
        quoted_pair, // after a '\' inside one
        quoted_done, // after a quoted string's closing '"'
    };

    /// The state after `c` in an extension; State::off if `c` is not allowed.
    State after(State state, unsigned char c) const noexcept;

    std::size_t max_bytes_;
    std::size_t bytes_ = 0; // extension bytes of this message so far
    State state_ = State::off;
    bool digits_ = false; // the size line has a digit
    std::size_t size_digits_ = 0; // the size's digits so far
};

} // namespace eventlet::detail
