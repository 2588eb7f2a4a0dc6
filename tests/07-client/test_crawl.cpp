// Chapter 7: the client pattern, `for body in pool.imap(fetch, urls)`, in
// the test process and as the crawl program.
#include <catch2/catch.hpp>

#include <eventlet/greenpool.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/http/client.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "test_server.hpp"

extern char** environ;

using eventlet::GreenSocket;
using test_support::response_with;
using test_support::SeenRequest;
using test_support::TestServer;

namespace {

/// The crawl program, run as a child process whose standard streams are
/// sockets that this process reads and writes from green threads, so that
/// the test's own server keeps serving meanwhile.
class Crawl {
public:
    explicit Crawl(std::vector<std::string> arguments)
    {
        int in[2], out[2], err[2];
        for (int* pair : {in, out, err})
            REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, in[1], STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
        std::string program = EVENTLET_BIN_DIR "/crawl";
        std::vector<char*> argv{program.data()};
        for (std::string& argument : arguments)
            argv.push_back(argument.data());
        argv.push_back(nullptr);
        const int spawned = ::posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        // The child's ends are kept: after it exits, the flags of its
        // standard input (shared with this copy) show what it left behind.
        child_in_ = in[1];
        ::close(out[1]);
        ::close(err[1]);
        input_ = GreenSocket::adopt(in[0]);
        output_ = GreenSocket::adopt(out[0]);
        errors_ = GreenSocket::adopt(err[0]);
        REQUIRE(spawned == 0);
        stderr_reader_ = eventlet::spawn([this] { return read_all(errors_); });
    }
    ~Crawl()
    {
        if (pid_ > 0 && !status_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        ::close(child_in_);
    }
    Crawl(const Crawl&) = delete;
    Crawl& operator=(const Crawl&) = delete;

    /// Writes to the program's standard input.
    void write(const std::string& text) { input_.sendall(text); }
    /// Ends the program's standard input.
    void close_input() { input_.close(); }
    /// The next line of its standard output, "" at its end.
    std::string read_line()
    {
        std::size_t newline;
        while ((newline = pending_.find('\n')) == std::string::npos) {
            const std::string more = output_.recv(64 * 1024);
            if (more.empty())
                return std::exchange(pending_, "");
            pending_ += more;
        }
        std::string line = pending_.substr(0, newline);
        pending_.erase(0, newline + 1);
        return line;
    }
    /// The rest of its standard output, up to its end, as lines.
    std::vector<std::string> read_lines()
    {
        std::vector<std::string> lines;
        for (std::string line; !(line = read_line()).empty();)
            lines.push_back(line);
        return lines;
    }
    /// Waits for the program to exit (polling, so that the hub goes on) and
    /// returns its exit status.
    int exit_code()
    {
        if (!status_) {
            eventlet::Timeout bound(20); // a failure bound, not a synchronisation
            int status = 0;
            while (::waitpid(pid_, &status, WNOHANG) == 0)
                eventlet::sleep(0.005);
            status_ = status;
        }
        REQUIRE(WIFEXITED(*status_));
        return WEXITSTATUS(*status_);
    }
    /// Everything it wrote to standard error (after it exited).
    std::string errors()
    {
        exit_code();
        return stderr_reader_.wait();
    }
    /// The flags of the open file the program had as standard input.
    int input_flags() const { return ::fcntl(child_in_, F_GETFL); }

private:
    static std::string read_all(GreenSocket& socket)
    {
        std::string text;
        for (std::string more; !(more = socket.recv(64 * 1024)).empty();)
            text += more;
        return text;
    }

    pid_t pid_ = -1;
    int child_in_ = -1;
    GreenSocket input_, output_, errors_;
    std::string pending_;
    eventlet::GreenThread<std::string> stderr_reader_;
    std::optional<int> status_;
};

/// A server that answers /ok/... with its path as the body, and 404 to the rest.
TestServer::Handler pages()
{
    return [](const SeenRequest& request, GreenSocket& socket) {
        if (request.target.starts_with("/ok/"))
            socket.sendall(response_with(request.target));
        else
            socket.sendall(response_with("not here", "404 Not Found"));
    };
}

} // namespace

TEST_CASE("1,000 URLs through imap at concurrency 100 come back in input order",
          "[http][crawl][imap]")
{
    TestServer server([](const SeenRequest& request, GreenSocket& socket) {
        // Every seventh page is slow, so that later ones finish first.
        if (std::stoi(request.target.substr(1)) % 7 == 0)
            eventlet::sleep(0.002);
        socket.sendall(response_with(request.target));
    });
    std::vector<std::string> urls;
    for (int i = 0; i < 1000; ++i)
        urls.push_back(server.url("/" + std::to_string(i)));

    eventlet::GreenPool pool(100);
    std::size_t in_flight = 0;
    std::size_t most_in_flight = 0;
    auto fetch = [&](const std::string& url) {
        ++in_flight;
        most_in_flight = std::max(most_in_flight, in_flight);
        std::string body = eventlet::http::urlopen(url).body;
        --in_flight;
        return body;
    };
    int i = 0;
    for (const std::string& body : pool.imap(fetch, urls)) {
        CHECK(body == "/" + std::to_string(i));
        ++i;
    }
    CHECK(i == 1000);
    CHECK(most_in_flight <= 100);
    CHECK(most_in_flight > 1);
}

TEST_CASE("crawl prints one line per URL in input order, and exits 0 when all succeed",
          "[http][crawl][program]")
{
    TestServer server(pages());
    Crawl crawl({"--concurrency", "2", server.url("/ok/a"), server.url("/ok/bb"), server.url("/ok/ccc")});
    CHECK(crawl.read_lines() == std::vector<std::string>{
                                    "got body 5 " + server.url("/ok/a"),
                                    "got body 6 " + server.url("/ok/bb"),
                                    "got body 7 " + server.url("/ok/ccc"),
                                });
    CHECK(crawl.exit_code() == 0);
    CHECK(crawl.errors().empty());
}

TEST_CASE("crawl prints an error line in place of a URL that fails, and exits 1",
          "[http][crawl][program]")
{
    TestServer server(pages());
    Crawl crawl({server.url("/ok/1"), server.url("/missing"), "ftp://example.com/", server.url("/ok/2")});
    const std::vector<std::string> lines = crawl.read_lines();
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] == "got body 5 " + server.url("/ok/1"));
    CHECK(lines[1] == "error " + server.url("/missing") + ": HTTP Error 404: Not Found");
    CHECK_THAT(lines[2], Catch::StartsWith("error ftp://example.com/: 'ftp://example.com/': the scheme "
                                           "'ftp' is not supported (only http://"));
    CHECK(lines[3] == "got body 5 " + server.url("/ok/2"));
    CHECK(crawl.exit_code() == 1);
}

TEST_CASE("crawl reuses its connections, unless --no-keep-alive", "[http][crawl][program][session]")
{
    TestServer server(pages(), eventlet::Family::ipv4, test_support::Requests::many_per_connection);
    // Crawls 20 URLs, 2 at a time; returns the connections it took.
    auto crawl_20 = [&server](std::vector<std::string> arguments) {
        arguments.insert(arguments.end(), {"--concurrency", "2"});
        for (int i = 0; i < 20; ++i)
            arguments.push_back(server.url("/ok/" + std::to_string(i)));
        Crawl crawl(arguments);
        CHECK(crawl.read_lines().size() == 20);
        CHECK(crawl.exit_code() == 0);
        return server.connections();
    };
    SECTION("kept alive: one per fetch at a time") { CHECK(crawl_20({}) <= 2); }
    SECTION("--no-keep-alive: one per URL") { CHECK(crawl_20({"--no-keep-alive"}) == 20); }
}

TEST_CASE("crawl exits 2 with its usage on bad arguments", "[http][crawl][program]")
{
    const std::vector<std::string> bad[] = {
        {"--concurrency", "0", "http://a/"},
        {"--concurrency", "many"},
        {"--timeout", "-1"},
        {"--timeout"},
        {"--verbose"},
    };
    for (const auto& arguments : bad) {
        INFO(arguments.front());
        Crawl crawl(arguments);
        CHECK(crawl.read_lines().empty());
        CHECK(crawl.exit_code() == 2);
        const std::string errors = crawl.errors();
        CHECK(errors.starts_with("crawl: "));
        // Later chapters add options at the end of the usage line.
        CHECK(errors.find("usage: crawl [--concurrency N] [--timeout S] [--no-keep-alive]") != std::string::npos);
    }
    SECTION("--help prints the usage on standard output, and exits 0")
    {
        Crawl crawl({"--help"});
        const std::string usage = crawl.read_line();
        CHECK(usage.starts_with("usage: crawl [--concurrency N] [--timeout S] [--no-keep-alive]"));
        CHECK(usage.ends_with("[URL...]"));
        CHECK(crawl.exit_code() == 0);
    }
}

TEST_CASE("crawl reads the URLs from standard input, skipping blank lines", "[http][crawl][program]")
{
    TestServer server(pages());
    Crawl crawl({"--timeout", "10"});
    crawl.write(server.url("/ok/x") + "\n\n   \n" + server.url("/nope") + "\r\n  " + server.url("/ok/yy"));
    crawl.close_input();
    CHECK(crawl.read_lines() == std::vector<std::string>{
                                    "got body 5 " + server.url("/ok/x"),
                                    "error " + server.url("/nope") + ": HTTP Error 404: Not Found",
                                    "got body 6 " + server.url("/ok/yy"),
                                });
    CHECK(crawl.exit_code() == 1);
    // It gave its standard input back as it found it: blocking.
    CHECK((crawl.input_flags() & O_NONBLOCK) == 0);
}

TEST_CASE("crawl answers each URL of its input before the input ends", "[http][crawl][program]")
{
    // Lazy and green: with one call at a time, the first line comes out
    // while the second URL is not even written. A blocking read of stdin,
    // or a range that reads ahead, would wait for the second URL first.
    TestServer server(pages());
    Crawl crawl({"--concurrency", "1"});
    eventlet::Timeout bound(20);
    crawl.write(server.url("/ok/first") + "\n");
    CHECK(crawl.read_line() == "got body 9 " + server.url("/ok/first"));
    crawl.write(server.url("/ok/second") + "\n");
    CHECK(crawl.read_line() == "got body 10 " + server.url("/ok/second"));
    crawl.close_input();
    CHECK(crawl.read_lines().empty());
    CHECK(crawl.exit_code() == 0);
}

TEST_CASE("crawl fetches 1,000 URLs from standard input, in order", "[http][crawl][program]")
{
    TestServer server(pages());
    Crawl crawl({"--concurrency", "50"});
    auto writer = eventlet::spawn([&] {
        for (int i = 0; i < 1000; ++i)
            crawl.write(server.url("/ok/" + std::to_string(i)) + "\n");
        crawl.close_input();
    });
    const std::vector<std::string> lines = crawl.read_lines();
    REQUIRE(lines.size() == 1000);
    for (int i = 0; i < 1000; ++i) {
        const std::string path = "/ok/" + std::to_string(i);
        CHECK(lines[static_cast<std::size_t>(i)] ==
              "got body " + std::to_string(path.size()) + " " + server.url(path));
    }
    writer.wait();
    CHECK(crawl.exit_code() == 0);
}
