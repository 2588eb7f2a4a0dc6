// Test support for chapter 9: a program (feedscraper, static_server, curl)
// run as a child process while this process goes on serving. Its standard
// streams are socketpairs that green threads read and write, so that the
// hub never blocks on the child: the feeds it fetches come from a server
// in this very process.
#pragma once

#include <catch2/catch.hpp>

#include <eventlet/address.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

// A namespace of its own, apart from the other chapters' test helpers
// (two different classes of one name in one test program would break the
// one-definition rule).
namespace dispatch_test {

/// A running child process. Its standard input, output and error are
/// green sockets; what it writes to standard error is collected by a green
/// thread (so that a chatty child never fills the socket and stops). The
/// destructor kills and reaps a child that was not waited for.
class Program {
public:
    /// Starts `program` (a path, or a name looked up in PATH) with
    /// `arguments`, with no signal blocked and SIGINT and SIGTERM at their
    /// default action, whatever the test runner did with them.
    Program(const std::string& program, std::vector<std::string> arguments)
    {
        int in[2], out[2], err[2];
        for (int* pair : {in, out, err})
            REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        // dup2 clears close-on-exec on the copies; the originals close at exec.
        posix_spawn_file_actions_adddup2(&actions, in[1], STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
        posix_spawnattr_t attributes;
        posix_spawnattr_init(&attributes);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        sigset_t none, defaults;
        sigemptyset(&none);
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGINT);
        sigaddset(&defaults, SIGTERM);
        sigaddset(&defaults, SIGPIPE);
        posix_spawnattr_setsigmask(&attributes, &none);
        posix_spawnattr_setsigdefault(&attributes, &defaults);
        std::vector<char*> argv{const_cast<char*>(program.c_str())};
        for (std::string& argument : arguments)
            argv.push_back(argument.data());
        argv.push_back(nullptr);
        const int error = ::posix_spawnp(&pid_, program.c_str(), &actions, &attributes, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
        ::close(in[1]);
        ::close(out[1]);
        ::close(err[1]);
        input_ = eventlet::GreenSocket::adopt(in[0]);
        output_ = eventlet::GreenSocket::adopt(out[0]);
        errors_ = eventlet::GreenSocket::adopt(err[0]);
        if (error != 0)
            pid_ = -1;
        REQUIRE(error == 0);
        error_reader_ = eventlet::spawn([this] { return read_all(errors_); });
    }
    ~Program()
    {
        if (pid_ > 0 && !status_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        error_reader_.kill();
    }
    Program(const Program&) = delete;
    Program& operator=(const Program&) = delete;

    /// Writes to its standard input.
    void write(const std::string& text) { input_.sendall(text); }
    /// Ends its standard input.
    void close_input() { input_.close(); }
    /// The next line of its standard output, without the '\n'; nullopt at
    /// the end of the output.
    std::optional<std::string> read_line()
    {
        std::size_t newline;
        while ((newline = pending_.find('\n')) == std::string::npos) {
            const std::string more = output_.recv(64 * 1024);
            if (more.empty()) {
                if (pending_.empty())
                    return std::nullopt;
                return std::exchange(pending_, "");
            }
            pending_ += more;
        }
        std::string line = pending_.substr(0, newline);
        pending_.erase(0, newline + 1);
        return line;
    }
    /// The rest of its standard output, up to its end.
    std::string read_output() { return std::exchange(pending_, "") + read_all(output_); }
    /// Reads the "listening on HOST:PORT" line of a server program.
    /// \returns where it listens.
    eventlet::Address listening_address()
    {
        const std::optional<std::string> line = read_line();
        REQUIRE(line.has_value());
        REQUIRE(line->starts_with("listening on "));
        const std::size_t colon = line->rfind(':');
        return {line->substr(13, colon - 13), static_cast<std::uint16_t>(std::stoi(line->substr(colon + 1)))};
    }
    /// Sends it `signal`.
    void signal(int signal) const { REQUIRE(::kill(pid_, signal) == 0); }
    /// Waits for it to exit (polling waitpid, so that the hub goes on).
    /// \returns its exit status; fails the test if a signal ended it.
    int exit_code()
    {
        if (!status_) {
            eventlet::Timeout bound(20); // a failure bound, not a synchronisation
            int status = 0;
            while (::waitpid(pid_, &status, WNOHANG) == 0)
                eventlet::sleep(0.005);
            status_ = status;
        }
        INFO("wait status " << *status_);
        REQUIRE(WIFEXITED(*status_));
        return WEXITSTATUS(*status_);
    }
    /// All it wrote to standard error (waits for it to exit).
    std::string errors()
    {
        exit_code();
        return error_reader_.wait();
    }

private:
    static std::string read_all(eventlet::GreenSocket& socket)
    {
        std::string text;
        for (std::string more; !(more = socket.recv(64 * 1024)).empty();)
            text += more;
        return text;
    }

    pid_t pid_ = -1;
    eventlet::GreenSocket input_, output_, errors_;
    std::string pending_;
    eventlet::GreenThread<std::string> error_reader_;
    std::optional<int> status_;
};

/// A POST of `body` to `url` by curl, the HTTP client nobody here wrote:
/// `curl -s --data-binary @- URL`, the body on its standard input.
/// \returns what curl printed (the response's body); fails the test if
///          curl does not exit 0.
inline std::string curl_post(const std::string& url, const std::string& body)
{
    Program curl("curl", {"-s", "-S", "--max-time", "20", "--data-binary", "@-", url});
    curl.write(body);
    curl.close_input();
    std::string output = curl.read_output();
    INFO("curl said: " << curl.errors());
    REQUIRE(curl.exit_code() == 0);
    return output;
}

/// `urls`, one per line: the body of a POST to the feed scraper.
inline std::string lines(const std::vector<std::string>& urls)
{
    std::string text;
    for (const std::string& url : urls)
        text += url + "\n";
    return text;
}

} // namespace dispatch_test
