// A request's body as a stream: a BufferedReader over the parser's body bytes.
#include "eventlet/wsgi/input.hpp"

#include <utility>

namespace eventlet::wsgi {

Input::Input() : Input([](std::span<char>) -> std::size_t { return 0; }) {}

Input::Input(BufferedReader::Source source) : reader_(std::move(source)) {}

std::string Input::read() { return reader_.read_all(); }

std::string Input::read(std::size_t n) { return reader_.read(n); }

std::string Input::readline(std::size_t limit) { return reader_.readline(limit); }

std::vector<std::string> Input::readlines()
{
    std::vector<std::string> lines;
    for (std::string line = readline(); !line.empty(); line = readline())
        lines.push_back(std::move(line));
    return lines;
}

} // namespace eventlet::wsgi
