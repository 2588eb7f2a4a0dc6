/// \file
/// BufferedReader: lines and exact sizes read from a green socket.
#pragma once

#include <cstddef>
#include <functional>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>

#include "eventlet/socket.hpp"

namespace eventlet {

/// Thrown by BufferedReader::readline() when no end of line comes within
/// its limit (Eventlet's wsgi LineTooLong).
class LineTooLong : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Thrown by BufferedReader::read_exactly() when the stream ends before
/// the count is reached (asyncio's IncompleteReadError).
class UnexpectedEof : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Reads lines and sized blocks from a GreenSocket, through a buffer (what
/// Eventlet gets from `sock.makefile('rb')`). recv() returns whatever the
/// network delivered: half a line, two lines and a bit. The reader keeps
/// the surplus for the next call.
///
/// The bytes may also come from any other source of bytes (the decoded
/// body of an HTTP request, say), given as a function.
///
/// The reader refers to the socket and does not own it: the socket must
/// outlive it. Once bytes are in the reader's buffer, read them through
/// the reader, not with the socket's recv(). Every read parks as recv()
/// does and throws what it throws (IOTimeout with the socket's timeout,
/// ConnectionReset, IOClosed).
class BufferedReader {
public:
    /// The default limit of readline(): 64 KiB, Eventlet's wsgi limit for a
    /// request's whole header block (`MAX_TOTAL_HEADER_SIZE`), generous for one
    /// line and still bounded. Its limit for the request line alone
    /// (`MAX_REQUEST_LINE`) is 8192 bytes: a server that wants it passes it.
    static constexpr std::size_t default_line_limit = 64 * 1024;

    /// Where the bytes come from: fills some of the span it is given and
    /// returns how many bytes it wrote there, 0 at the end of the stream.
    /// It may park, and what it throws goes through the reader's calls.
    using Source = std::function<std::size_t(std::span<char>)>;

    /// The largest chunk a reader asks for: each read first makes room for
    /// a whole chunk in the buffer, and fills it, however little comes. A
    /// larger `chunk_size` is taken as this one.
    static constexpr std::size_t max_chunk_size = 1024 * 1024;

    /// A reader of `socket` that receives up to `chunk_size` bytes at a time.
    /// \throws std::invalid_argument if `chunk_size` is zero.
    explicit BufferedReader(GreenSocket& socket, std::size_t chunk_size = 16 * 1024);
    /// A reader of `source`, asking it for up to `chunk_size` bytes at a time.
    /// \throws std::invalid_argument if `chunk_size` is zero or `source` is empty.
    explicit BufferedReader(Source source, std::size_t chunk_size = 16 * 1024);

    /// The next line, with its '\n'; at the end of the stream, the rest
    /// without one; "" once nothing is left.
    /// \throws LineTooLong if `limit` bytes came without a '\n'; the bytes
    ///         stay in the buffer, so the caller may still read() them.
    std::string readline(std::size_t limit = default_line_limit);
    /// `n` bytes, or fewer only if the stream ends first.
    std::string read(std::size_t n);
    /// Exactly `n` bytes. \throws UnexpectedEof if the stream ends first
    ///         (the bytes received stay in the buffer).
    std::string read_exactly(std::size_t n);
    /// Everything up to the end of the stream.
    /// \throws std::length_error if it exceeds `limit` bytes.
    std::string read_all(std::size_t limit = std::numeric_limits<std::size_t>::max());

    /// The bytes received but not read yet.
    std::size_t buffered() const noexcept { return buffer_.size() - start_; }
    /// True once the peer has ended the stream (it may still be buffered).
    bool at_eof() const noexcept { return eof_; }

private:
    /// Receives one chunk more into the buffer. \returns false at end of stream.
    bool fill();
    std::string take(std::size_t n);

    Source source_;
    std::size_t chunk_size_;
    std::string buffer_;
    std::size_t start_ = 0; // bytes before it were already read
    bool eof_ = false;
};

} // namespace eventlet
