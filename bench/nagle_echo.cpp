// What Nagle's algorithm and delayed acknowledgements cost an echo handler
// that answers in more than one send (chapter 8, "The echo handler, and 44
// milliseconds"). Not a row of bench/run: a demonstration, run by hand.
//
//   nagle_echo [ROUND_TRIPS]    (default 2000)
//
// For each handler below, it starts serve() on 127.0.0.1 (a port the system
// chooses), connects one client, and times round trips of a 52-byte line:
// send the line, read until its newline comes back. A handler slow enough to
// take a second stops early; the line says how many round trips it timed.
#include "bench.hpp"

#include <eventlet/greenthread.hpp>
#include <eventlet/serve.hpp>
#include <eventlet/socket.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using eventlet::Address;
using eventlet::GreenSocket;

// One line, read a byte per recv() as an unbuffered readline() does.
// Returns false at the end of the stream.
bool read_line_bytewise(GreenSocket& client, std::string& line)
{
    line.clear();
    for (char c; client.recv(std::span<char>(&c, 1)) == 1;) {
        if (c == '\n')
            return true;
        line += c;
    }
    return false;
}

// The design page's handler: each byte is sent back as it is received.
void design_page(GreenSocket& client, const Address&)
{
    for (char c; client.recv(std::span<char>(&c, 1)) == 1;)
        client.sendall(std::string_view(&c, 1));
}

void design_page_nodelay(GreenSocket& client, const Address& peer)
{
    client.set_nodelay(true);
    design_page(client, peer);
}

// A line read byte by byte, answered in two sends: the text, then "\n".
void two_sends(GreenSocket& client, const Address&)
{
    for (std::string line; read_line_bytewise(client, line);) {
        client.sendall(line);
        client.sendall("\n");
    }
}

void two_sends_nodelay(GreenSocket& client, const Address& peer)
{
    client.set_nodelay(true);
    two_sends(client, peer);
}

// The same line, answered in one send.
void one_send(GreenSocket& client, const Address&)
{
    for (std::string line; read_line_bytewise(client, line);)
        client.sendall(line + "\n");
}

// What has arrived, read at once and sent back in one sendall.
void buffered(GreenSocket& client, const Address&)
{
    std::array<char, 4096> buffer;
    for (std::size_t n; (n = client.recv(std::span<char>(buffer))) != 0;)
        client.sendall(std::string_view(buffer.data(), n));
}

struct Variant {
    const char* name;
    eventlet::Handler handler;
};

void measure(const Variant& variant, long round_trips)
{
    eventlet::Server server(eventlet::listen({"127.0.0.1", 0}), 4);
    auto serving = eventlet::spawn([&server, &variant] { server.serve(variant.handler); });
    const std::string line(51, 'x');
    const std::string message = line + "\n";
    long done = 0;
    std::chrono::duration<double> spent{};
    {
        GreenSocket client = eventlet::connect(server.address());
        const auto start = std::chrono::steady_clock::now();
        std::array<char, 4096> buffer;
        while (done < round_trips && std::chrono::steady_clock::now() - start < std::chrono::seconds(1)) {
            client.sendall(message);
            std::size_t echoed = 0;
            while (echoed < message.size()) {
                const std::size_t n = client.recv(std::span<char>(buffer));
                if (n == 0)
                    throw std::runtime_error("the server closed the connection");
                echoed += n;
            }
            ++done;
        }
        spent = std::chrono::steady_clock::now() - start;
    }
    server.stop();
    serving.wait();
    std::printf("%-42s %9.0f µs per round trip   (%ld round trips)\n", variant.name,
                spent.count() * 1e6 / static_cast<double>(done), done);
}

} // namespace

int main(int argc, char** argv)
{
    const long round_trips = bench::count_argument(argc, argv, 2000);
    const Variant variants[] = {
        {"recv(1), each byte sent back", design_page},
        {"recv(1), each byte sent back, TCP_NODELAY", design_page_nodelay},
        {"recv(1), reply in two sends", two_sends},
        {"recv(1), two sends, TCP_NODELAY", two_sends_nodelay},
        {"recv(1), reply in one send", one_send},
        {"recv(4096), one sendall", buffered},
    };
    for (const Variant& variant : variants)
        measure(variant, round_trips);
}
