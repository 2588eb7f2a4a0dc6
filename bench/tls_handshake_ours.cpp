// Ours in the tls_handshake row: new TLS connections per second to nginx.
// N green threads of a GreenPool(N) each loop, while handshakes are left:
// eventlet::connect() to the server's address, tls::start_client() with
// Context::client({.ca_file = the row's test CA}), which trusts it beside
// the system's CAs (the certificate chain and its name checked), then
// close() (which sends close_notify). Nothing else
// goes over the connection. tls::info() of every connection must say TLS
// 1.3, a fresh handshake (not a resumed session).
//
// Usage: tls_handshake_ours --host H --port P --cacert FILE [--name NAME]
//                           [--concurrency N] [--server-pid PID] COUNT
// (see tls_handshake.hpp). A warm-up of N handshakes first (the Context's
// files read, the hub, the stacks, OpenSSL's lazy set-up), then COUNT
// timed. Prints handshakes per second, then client_cpu=... server_cpu=...
// A connect, or a wait of a handshake, that takes over 10 s fails the run.
#include <eventlet/address.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/tls.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>

#include "bench.hpp"
#include "tls_handshake.hpp"

namespace {

namespace tls = eventlet::tls;

struct Run {
    const eventlet::Address& address;
    const std::string& name;
    const tls::Context& context;
    long left;
    std::string error;
};

// One green thread of the pool: handshakes until none is left, or one fails.
void worker(Run& run)
{
    while (run.left > 0 && run.error.empty()) {
        --run.left;
        try {
            eventlet::GreenSocket socket = eventlet::connect(run.address, bench::tls_handshake::limit);
            socket.set_timeout(bench::tls_handshake::limit); // each wait of the handshake
            tls::start_client(socket, run.name, run.context);
            const tls::Info info = tls::info(socket);
            if (info.version != "TLSv1.3" || info.resumed)
                run.error = "the handshake agreed on " + info.version + (info.resumed ? ", resumed" : "") +
                            ", not a new TLSv1.3 session";
            socket.close();
        } catch (const std::exception& e) {
            run.error = e.what();
        }
    }
}

void handshakes(Run& run, long concurrency)
{
    eventlet::GreenPool pool(static_cast<std::size_t>(concurrency));
    for (long i = 0; i < concurrency; ++i)
        pool.spawn_n(worker, std::ref(run));
    pool.waitall();
    if (!run.error.empty())
        bench::fail("a handshake failed: " + run.error);
}

} // namespace

int main(int argc, char** argv)
{
    const bench::tls_handshake::Options options = bench::tls_handshake::parse(argc, argv);
    try {
        const eventlet::Address address(options.host, static_cast<std::uint16_t>(options.port));
        const tls::Context context = tls::Context::client({.ca_file = options.cacert});

        Run warm_up{address, options.name, context, options.concurrency, {}};
        handshakes(warm_up, options.concurrency);

        Run run{address, options.name, context, options.count, {}};
        const bench::tls_handshake::CpuShares cpu(options.server_pid);
        const bench::Stopwatch clock;
        handshakes(run, options.concurrency);
        const double seconds = clock.seconds();
        std::printf("%.1f%s\n", static_cast<double>(options.count) / seconds, cpu.fields(seconds).c_str());
    } catch (const std::exception& e) {
        bench::fail(e.what());
    }
    return 0;
}
