// Ours in the http_hello_tls row: the hello-world application of
// http_hello_ours.cpp on our eventlet::wsgi::server, served over TLS
// (ServerOptions::tls: a server tls::Context of the row's certificate and
// key). Every request gets 200, `Content-Type: text/plain` and
// "Hello, World!\r\n"; the server adds Content-Length and Date, and keeps
// the connection open for the next request. The access log is off
// (ServerOptions::log = nullptr); every other option is the server's
// default.
//
// Usage: http_hello_tls_ours --cert FILE --key FILE [--host H] [--port P]
// (FILE: PEM; the CLI of the echo servers otherwise). Prints "listening on
// H:P" once it listens (P chosen by the OS for --port 0); exits 0 on
// SIGTERM or SIGINT.
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/tls/context.hpp>
#include <eventlet/wsgi/server.hpp>

#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "bench.hpp"

namespace {

namespace wsgi = eventlet::wsgi;

wsgi::Body hello(wsgi::Request&, wsgi::StartResponse& start_response)
{
    start_response("200 OK", {{"Content-Type", "text/plain"}});
    return "Hello, World!\r\n";
}

// SIGTERM and SIGINT as a descriptor the hub can watch: blocked, so that
// they wait in the signalfd instead of killing the process, and read by a
// green thread. Blocked from before the server listens: a signal sent as
// soon as "listening on" is read must not meet its default action.
class StopSignals {
public:
    StopSignals()
    {
        sigemptyset(&set_);
        sigaddset(&set_, SIGTERM);
        sigaddset(&set_, SIGINT);
        if (::sigprocmask(SIG_BLOCK, &set_, nullptr) != 0)
            throw std::runtime_error("sigprocmask failed");
        fd_ = ::signalfd(-1, &set_, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd_ < 0)
            throw std::runtime_error("signalfd failed");
    }
    ~StopSignals()
    {
        eventlet::notify_close(fd_);
        ::close(fd_);
    }
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

    /// Parks the calling green thread until one of the signals arrives.
    void wait() { eventlet::trampoline(fd_, eventlet::Readiness::read); }

private:
    sigset_t set_{};
    int fd_ = -1;
};

} // namespace

int main(int argc, char** argv)
{
    const auto [host, port, certificate, key] = bench::tls_server_arguments(argc, argv);
    try {
        // The certificate and key load before the server listens: a file
        // that does not load ends the program before "listening on".
        eventlet::tls::Context tls = eventlet::tls::Context::server(certificate, key);
        StopSignals signals;
        eventlet::GreenSocket listener =
            eventlet::listen({host, static_cast<std::uint16_t>(std::stoi(port))}, 1024);
        std::printf("listening on %s\n", listener.local_address().to_string().c_str());
        std::fflush(stdout);
        // The signal closes the listener, which makes server() return once
        // the requests under way are answered.
        eventlet::spawn_n([&] {
            signals.wait();
            listener.close();
        });
        wsgi::ServerOptions options;
        options.log = nullptr;
        options.tls = std::move(tls);
        wsgi::server(listener, hello, options);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "http_hello_tls_ours: %s\n", e.what());
        return 1;
    }
    return 0;
}
