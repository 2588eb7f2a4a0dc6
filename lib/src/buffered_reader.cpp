// A read buffer over a green socket: lines, exact sizes, the whole stream.
#include "eventlet/buffered_reader.hpp"

#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <utility>

namespace eventlet {

BufferedReader::BufferedReader(GreenSocket& socket, std::size_t chunk_size)
    : BufferedReader([&socket](std::span<char> buffer) { return socket.recv(buffer); }, chunk_size)
{
}

BufferedReader::BufferedReader(Source source, std::size_t chunk_size)
    : source_(std::move(source)), chunk_size_(std::min(chunk_size, max_chunk_size))
{
    if (chunk_size == 0)
        throw std::invalid_argument("a BufferedReader needs a chunk size greater than zero");
    if (!source_)
        throw std::invalid_argument("a BufferedReader needs a source of bytes");
}

bool BufferedReader::fill()
{
    if (eof_)
        return false;
    // Drop what was read once it is most of the buffer, so that a long
    // stream of small reads costs neither memory nor quadratic copying.
    if (start_ > 0 && start_ >= buffer_.size() / 2) {
        buffer_.erase(0, start_);
        start_ = 0;
    }
    const std::size_t old_size = buffer_.size();
    buffer_.resize(old_size + chunk_size_);
    std::size_t received = 0;
    try {
        received = source_(std::span<char>(buffer_.data() + old_size, chunk_size_));
    } catch (...) {
        buffer_.resize(old_size);
        throw;
    }
    buffer_.resize(old_size + received);
    eof_ = received == 0;
    return !eof_;
}

std::string BufferedReader::take(std::size_t n)
{
    std::string result = buffer_.substr(start_, n);
    start_ += n;
    if (start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
    }
    return result;
}

std::string BufferedReader::readline(std::size_t limit)
{
    std::size_t scanned = 0; // bytes already searched for '\n'
    for (;;) {
        const std::size_t end = std::min(buffered(), limit);
        const char* first = buffer_.data() + start_;
        if (const void* newline = std::memchr(first + scanned, '\n', end - scanned))
            return take(static_cast<std::size_t>(static_cast<const char*>(newline) - first) + 1);
        scanned = end;
        // Without a limit, a peer that never sends '\n' makes us buffer
        // for ever: one malicious client could take all the memory.
        if (buffered() >= limit)
            throw LineTooLong("no end of line within " + std::to_string(limit) + " bytes");
        if (!fill())
            return take(buffered());
    }
}

std::string BufferedReader::read(std::size_t n)
{
    while (buffered() < n && fill()) {
    }
    return take(std::min(n, buffered()));
}

std::string BufferedReader::read_exactly(std::size_t n)
{
    while (buffered() < n) {
        if (!fill())
            throw UnexpectedEof("the stream ended after " + std::to_string(buffered()) + " of the " +
                                std::to_string(n) + " bytes expected");
    }
    return take(n);
}

std::string BufferedReader::read_all(std::size_t limit)
{
    while (buffered() <= limit && fill()) {
    }
    if (buffered() > limit)
        throw std::length_error("the stream is longer than the " + std::to_string(limit) +
                                " bytes allowed");
    return take(buffered());
}

} // namespace eventlet
