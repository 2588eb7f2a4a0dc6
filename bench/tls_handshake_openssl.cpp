// The ceiling of the tls_handshake row: new TLS connections per second to
// nginx from a plain C++ client on OpenSSL, with no green thread and no
// library of ours. N OS threads each loop, while handshakes are left: a
// blocking socket connected to the server, SSL_connect() with a client
// SSL_CTX that trusts the row's test CA alone (the certificate chain and
// its name checked, SNI sent, as the other sides do), one SSL_shutdown()
// (close_notify, not waiting for the server's), close(). Every connection
// must agree on TLS 1.3, a fresh handshake (not a resumed session).
//
// Usage: tls_handshake_openssl --host H --port P --cacert FILE [--name NAME]
//                              [--concurrency N] [--server-pid PID] COUNT
// (see tls_handshake.hpp; N is the number of threads). A warm-up of N
// handshakes first, then COUNT timed. Prints handshakes per second, then
// client_cpu=... server_cpu=... A connect, or a read or write of a
// handshake, that takes over 10 s fails the run.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench.hpp"
#include "tls_handshake.hpp"

namespace {

struct Run {
    const bench::tls_handshake::Options& options;
    SSL_CTX* context;
    sockaddr_in address;
    std::atomic<long> left;
    std::mutex mutex;
    std::string error; // the first failure, under `mutex`
};

std::string openssl_reason()
{
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    const char* reason = code ? ERR_reason_error_string(code) : nullptr;
    return reason ? reason : "unknown OpenSSL error";
}

// One handshake; "" if it went well, else what went wrong.
std::string handshake(Run& run)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return std::string("socket: ") + std::strerror(errno);
    // A server that stops answering fails the run instead of hanging it.
    const timeval limit{static_cast<time_t>(bench::tls_handshake::limit), 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    std::string error;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&run.address), sizeof run.address) != 0) {
        error = std::string("connect: ") + std::strerror(errno);
        ::close(fd);
        return error;
    }
    SSL* ssl = SSL_new(run.context);
    if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1 ||
        SSL_set_tlsext_host_name(ssl, run.options.name.c_str()) != 1 ||
        SSL_set1_host(ssl, run.options.name.c_str()) != 1) {
        error = "cannot set up the connection: " + openssl_reason();
    } else if (SSL_connect(ssl) != 1) {
        const long verify = SSL_get_verify_result(ssl);
        error = "SSL_connect: " + openssl_reason() +
                (verify != X509_V_OK ? std::string(" (") + X509_verify_cert_error_string(verify) + ")" : "");
    } else if (SSL_version(ssl) != TLS1_3_VERSION || SSL_session_reused(ssl)) {
        error = std::string("the handshake agreed on ") + SSL_get_version(ssl) +
                (SSL_session_reused(ssl) ? ", resumed" : "") + ", not a new TLSv1.3 session";
    } else {
        SSL_shutdown(ssl); // close_notify, once: the server's is not waited for
    }
    ERR_clear_error();
    SSL_free(ssl);
    ::close(fd);
    return error;
}

void worker(Run& run)
{
    while (run.left.fetch_sub(1) > 0) {
        std::string error = handshake(run);
        if (!error.empty()) {
            const std::lock_guard lock(run.mutex);
            if (run.error.empty())
                run.error = std::move(error);
            run.left = 0;
        }
    }
}

void handshakes(Run& run, long count)
{
    run.left = count;
    std::vector<std::thread> threads;
    for (long i = 0; i < run.options.concurrency; ++i)
        threads.emplace_back(worker, std::ref(run));
    for (std::thread& thread : threads)
        thread.join();
    if (!run.error.empty())
        bench::fail("a handshake failed: " + run.error);
}

} // namespace

int main(int argc, char** argv)
{
    const bench::tls_handshake::Options options = bench::tls_handshake::parse(argc, argv);
    SSL_CTX* context = SSL_CTX_new(TLS_client_method());
    if (context == nullptr)
        bench::fail("SSL_CTX_new: " + openssl_reason());
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(context, options.cacert.c_str(), nullptr) != 1)
        bench::fail("cannot load " + options.cacert + ": " + openssl_reason());

    Run run{options, context, {}, {}, {}, {}};
    run.address.sin_family = AF_INET;
    run.address.sin_port = htons(static_cast<std::uint16_t>(options.port));
    if (::inet_pton(AF_INET, options.host.c_str(), &run.address.sin_addr) != 1)
        bench::fail("--host must be an IPv4 address, not " + options.host);

    handshakes(run, options.concurrency); // the warm-up

    const bench::tls_handshake::CpuShares cpu(options.server_pid);
    const bench::Stopwatch clock;
    handshakes(run, options.count);
    const double seconds = clock.seconds();
    std::printf("%.1f%s\n", static_cast<double>(options.count) / seconds, cpu.fields(seconds).c_str());
    SSL_CTX_free(context);
    return 0;
}
