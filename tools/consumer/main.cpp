// A program of someone else's: it uses the installed library only, through
// <eventlet/eventlet.hpp>, and checks what it gets. tools/consumer/check
// builds it against a fresh `make install`, once with pkg-config and once
// with CMake (CMakeLists.txt beside this file), and runs it.
#include <eventlet/eventlet.hpp>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace {

int failures = 0;

void expect(bool ok, const std::string& what)
{
    std::cout << (ok ? "ok    " : "WRONG ") << what << '\n';
    if (!ok)
        ++failures;
}

// Three green threads: spawn() starts none of them at once, the hub then
// runs them in spawn order, and each one's result comes back through wait().
void green_threads()
{
    eventlet::Queue<int> started;
    std::vector<eventlet::GreenThread<int>> threads;
    for (int id : {3, 1, 2})
        threads.push_back(eventlet::spawn([&started, id] {
            started.put(id);
            eventlet::sleep(0.001 * id);
            return id * 10;
        }));
    expect(started.empty(), "spawn() returned before any of the 3 green threads ran");
    int sum = 0;
    for (auto& thread : threads)
        sum += thread.wait();
    std::vector<int> order;
    while (!started.empty())
        order.push_back(started.get());
    expect(order == std::vector<int>{3, 1, 2}, "they ran in spawn order");
    expect(sum == 60, "they returned 30 + 10 + 20 through wait()");
}

// imap on a pool of 4: results in input order, however the calls interleave.
void pool_imap()
{
    eventlet::GreenPool pool(4);
    std::vector<int> input;
    for (int i = 1; i <= 20; ++i)
        input.push_back(i);
    std::vector<int> doubled;
    for (int x : pool.imap(
             [](int n) {
                 eventlet::sleep(0.0001 * (n % 3));
                 return 2 * n;
             },
             input))
        doubled.push_back(x);
    bool in_order = doubled.size() == 20;
    for (std::size_t i = 0; in_order && i < doubled.size(); ++i)
        in_order = doubled[i] == 2 * input[i];
    expect(in_order, "GreenPool(4).imap doubled 1..20, in input order");
}

// An echo server on 127.0.0.1, a port the system chooses, and three clients
// talking to it at once.
void socket_echo()
{
    eventlet::GreenSocket listener = eventlet::listen(eventlet::Address("127.0.0.1", 0));
    const eventlet::Address where = listener.local_address();
    eventlet::GreenPool handlers(10);
    auto server = eventlet::spawn([&] {
        for (int served = 0; served < 3; ++served) {
            auto [connection, peer] = listener.accept();
            handlers.spawn_n(
                [](eventlet::GreenSocket socket) {
                    eventlet::BufferedReader reader(socket);
                    for (std::string line = reader.readline(); !line.empty(); line = reader.readline())
                        socket.sendall(line);
                },
                std::move(connection));
        }
    });
    eventlet::GreenPile<std::string> replies;
    for (const char* name : {"ann", "bob", "cy"})
        replies.spawn([where, name] {
            eventlet::GreenSocket client = eventlet::connect(where, eventlet::Seconds(5));
            client.sendall(std::string("hello from ") + name + "\n");
            client.shutdown(eventlet::Shutdown::write);
            eventlet::BufferedReader reader(client);
            return reader.read_all();
        });
    const std::string all = eventlet::join(replies, "");
    server.wait();
    handlers.waitall();
    expect(all == "hello from ann\nhello from bob\nhello from cy\n",
           "3 clients got their lines echoed by a server on " + where.to_string());
}

// TLS, from OpenSSL (linked through the package's flags): a handshake with a
// peer that reads the greeting and hangs up ends in an error, not a crash.
void tls_handshake_refused()
{
    eventlet::GreenSocket listener = eventlet::listen(eventlet::Address("127.0.0.1", 0));
    auto hang_up = eventlet::spawn([&] {
        eventlet::GreenSocket peer = listener.accept().socket;
        peer.recv(std::size_t{16 * 1024});
    });
    eventlet::GreenSocket client = eventlet::connect(listener.local_address(), eventlet::Seconds(5));
    std::string error;
    try {
        eventlet::tls::start_client(client, "localhost");
    } catch (const eventlet::SocketError& e) {
        error = e.what();
    }
    hang_up.wait();
    expect(!error.empty(), "a TLS handshake with a peer that hangs up fails: " + error);
}

} // namespace

int main()
{
    std::cout << "eventlet " << EVENTLET_VERSION << '\n';
    try {
        eventlet::Timeout limit(eventlet::Seconds(30));
        green_threads();
        pool_imap();
        socket_echo();
        tls_handshake_refused();
    } catch (const std::exception& error) {
        std::cout << "WRONG " << error.what() << '\n';
        ++failures;
    }
    std::cout << (failures == 0 ? "consumer: all checks passed" : "consumer: some checks failed") << '\n';
    return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
