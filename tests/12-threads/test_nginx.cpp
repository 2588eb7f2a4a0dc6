// Chapter 12: several server processes behind nginx, with the configuration
// the repository gives for it (lib/examples/nginx/load_balancer.conf.in),
// filled in as its comment says. Two static_server processes, each serving a
// page that names it, nginx in front of them as whoever runs the tests (every
// file it writes in a folder of the test's own), and requests through nginx:
// each must be answered 200 by one of the two, both must have answered some,
// and nginx must have kept its connections to them open (upstream keepalive,
// which the configuration's proxy_http_version and Connection "" make work).
//
// nginx is a package that tools/install-deps installs for the tests (the
// build group): where it is missing, the test fails and says so rather than
// skip, so that a machine without it cannot pass unnoticed.
//
// A test of the chain rather than a check of tools/run-tests: it then runs
// wherever chapter 12's tests run (make test-12; make test, for lib/ and the
// chapter's snapshot; make asan, for lib/), against the snapshot's own
// static_server (EVENTLET_BIN_DIR), with the chain's way of running a
// program and of reading its answers (tests/09-dispatch).
#include <catch2/catch.hpp>

#include <eventlet/address.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "../09-dispatch/program_support.hpp"
#include "../support/temporary_folder.hpp"
#include "../09-dispatch/wsgi_support.hpp"

// A namespace of its own: the folder's test files are compiled as one unit.
namespace nginx_test {

namespace fs = std::filesystem;

/// The configuration template, found from this file's own path (tests/12-threads/
/// beside lib/), as tests/lib/test_umbrella.cpp finds lib/include: the test unit
/// names this file by a path relative to the folder make runs the tests from.
fs::path config_template()
{
    return fs::path(__FILE__).parent_path() / ".." / ".." / "lib" / "examples" / "nginx" /
           "load_balancer.conf.in";
}

/// nginx's path: Debian's /usr/sbin/nginx (not on an ordinary user's PATH), or
/// the first nginx on PATH; empty if there is none.
std::string nginx_program()
{
    if (::access("/usr/sbin/nginx", X_OK) == 0)
        return "/usr/sbin/nginx";
    const char* path = std::getenv("PATH");
    std::istringstream folders(path ? path : "");
    for (std::string folder; std::getline(folders, folder, ':');) {
        const std::string candidate = (folder.empty() ? "." : folder) + "/nginx";
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return "";
}

std::string read_file(const fs::path& path)
{
    std::ifstream file(path);
    return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& path, const std::string& text)
{
    std::ofstream file(path);
    file << text;
    REQUIRE(file.good());
}

/// `text` with every `placeholder` replaced by `value`.
std::string fill(std::string text, const std::string& placeholder, const std::string& value)
{
    for (std::size_t at = 0; (at = text.find(placeholder, at)) != std::string::npos; at += value.size())
        text.replace(at, placeholder.size(), value);
    return text;
}

/// A fresh folder under /tmp that nginx's workers can reach.
class Folder {
public:
    Folder()
    {
        // Run by root, nginx runs its workers as nobody, who must reach the
        // temporary folders nginx makes in here (the pages are read by
        // static_server, which runs as whoever runs the test).
        ::chmod(folder_.path().c_str(), 0755);
    }

    const fs::path& path() const { return folder_.path(); }

private:
    test_support::TemporaryFolder folder_{"nginx-test"};
};

/// A port that the system just gave out on 127.0.0.1, closed again: nginx
/// cannot be told to take port 0 and say which it got. Another process may
/// take it before nginx does, so whoever starts nginx on it retries.
std::uint16_t free_port()
{
    eventlet::GreenSocket probe = eventlet::listen({"127.0.0.1", 0});
    return probe.local_address().port();
}

/// Established TCP connections (IPv4) whose far end is 127.0.0.1:`port`, from
/// /proc/net/tcp: the connections some process has open to a server on that
/// port (its own ends of them have `port` as their local port).
int connections_to(std::uint16_t port)
{
    std::ifstream table("/proc/net/tcp");
    std::string line;
    std::getline(table, line); // the heading
    char wanted[32];
    std::snprintf(wanted, sizeof wanted, "0100007F:%04X", port);
    int count = 0;
    while (std::getline(table, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state;
        fields >> slot >> local >> remote >> state;
        if (remote == wanted && state == "01") // 01: ESTABLISHED
            ++count;
    }
    return count;
}

/// The processes of process group `group` other than its leader, from /proc
/// (field 5 of /proc/PID/stat).
std::vector<pid_t> others_in_group(pid_t group)
{
    std::vector<pid_t> found;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos || std::stoi(name) == group)
            continue;
        const std::string stat = read_file(entry.path() / "stat");
        const std::size_t after_name = stat.rfind(')');
        if (after_name == std::string::npos)
            continue; // gone meanwhile
        std::istringstream fields(stat.substr(after_name + 1));
        std::string state;
        long parent = 0, process_group = 0;
        fields >> state >> parent >> process_group;
        if (process_group == group)
            found.push_back(std::stoi(name));
    }
    return found;
}

/// nginx run in the foreground (daemon off) from the configuration `folder`/
/// nginx.conf, with its prefix, error log and output in `folder`. It leads a
/// process group of its own, which its workers join, so that the destructor
/// can end them all; and it gets SIGTERM if this thread dies first, so that
/// not even a test runner killed outright leaves an nginx behind.
class Nginx {
public:
    Nginx(const std::string& program, const fs::path& folder) : folder_(folder)
    {
        std::vector<std::string> words{program,
                                       "-p", folder.string() + "/",
                                       "-c", (folder / "nginx.conf").string(),
                                       // the error log from the start: Debian's
                                       // nginx writes to stderr until it has
                                       // read the configuration's error_log
                                       "-e", (folder / "error.log").string(),
                                       "-g", "daemon off;"};
        std::vector<char*> argv;
        for (std::string& word : words)
            argv.push_back(word.data());
        argv.push_back(nullptr);
        const int output = ::open((folder / "output.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        const int input = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        REQUIRE(output >= 0);
        REQUIRE(input >= 0);
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ == 0) {
            // Only async-signal-safe calls between fork and exec: the test
            // runner may have other threads, whose locks the child inherits.
            ::setpgid(0, 0);
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (::getppid() != parent) // the runner died before prctl
                ::_exit(127);
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            for (const int signal : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGPIPE, SIGCHLD})
                ::signal(signal, SIG_DFL);
            ::dup2(input, STDIN_FILENO);
            ::dup2(output, STDOUT_FILENO);
            ::dup2(output, STDERR_FILENO);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(input);
        ::close(output);
        REQUIRE(pid_ > 0);
        // Also from here, so that the group exists before the destructor may
        // signal it, whichever process runs first (an error means the child
        // has done it already).
        ::setpgid(pid_, pid_);
    }
    ~Nginx()
    {
        if (pid_ <= 0 || reaped_)
            return;
        // A destructor may run while a failure unwinds: no green thread may
        // park here, so the waits below block (for milliseconds, or at most
        // five seconds for an nginx that ignores SIGTERM).
        ::kill(-pid_, SIGTERM);
        for (int tries = 0; tries < 500 && !exited(); ++tries)
            ::usleep(10'000);
        // The leader, unreaped, holds the group's number: nothing else can
        // have taken it.
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    Nginx(const Nginx&) = delete;
    Nginx& operator=(const Nginx&) = delete;

    /// Parks until nginx listens: its pid file holds its process ID, which
    /// it writes once it has bound its sockets. \returns false if it exited
    /// first (its exit status is then status()).
    bool wait_until_serving()
    {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!exited()) {
            if (read_file(folder_ / "nginx.pid") == std::to_string(pid_) + "\n")
                return true;
            if (std::chrono::steady_clock::now() > deadline)
                FAIL("nginx wrote no pid file in 10 s; its error log: " << logs());
            eventlet::sleep(0.01);
        }
        return false;
    }

    /// Stops nginx with SIGTERM (its fast shutdown: the master stops its
    /// workers, waits for them, and exits) and reaps it. \returns its wait
    /// status; fails the test if it takes more than 10 s, or if any process
    /// of its group (a worker) outlives the master.
    int stop()
    {
        REQUIRE(::kill(pid_, SIGTERM) == 0);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!exited()) {
            if (std::chrono::steady_clock::now() > deadline)
                FAIL("nginx did not exit within 10 s of SIGTERM");
            eventlet::sleep(0.01);
        }
        const std::vector<pid_t> left = others_in_group(pid_);
        CHECK(left.empty()); // the destructor kills them
        if (!left.empty())
            return status_;
        ::waitpid(pid_, nullptr, 0);
        reaped_ = true;
        return status_;
    }

    /// Its wait status, once exited() is true.
    int status() const { return status_; }

    /// What it wrote to its error log and its own output.
    std::string logs() const
    {
        return read_file(folder_ / "error.log") + read_file(folder_ / "output.log");
    }

private:
    /// True once the master has exited. It is not reaped (WNOWAIT): until
    /// then its process ID, which is its group's, cannot be given to
    /// another process, so that signalling the group is safe.
    bool exited()
    {
        if (exited_)
            return true;
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
            info.si_pid != pid_)
            return false;
        exited_ = true;
        status_ = info.si_code == CLD_EXITED ? W_EXITCODE(info.si_status, 0) : info.si_status;
        return true;
    }

    fs::path folder_;
    pid_t pid_ = -1;
    bool exited_ = false;
    bool reaped_ = false;
    int status_ = 0;
};

} // namespace nginx_test

TEST_CASE("nginx with the repository's configuration spreads requests over two static_server processes, "
          "on connections it keeps open to them",
          "[threads][nginx][program]")
{
    namespace fs = std::filesystem;
    using dispatch_test::Program;
    eventlet::Timeout bound(60);

    const std::string nginx = nginx_test::nginx_program();
    if (nginx.empty())
        FAIL("nginx is not installed (not /usr/sbin/nginx, none on PATH): this test runs it. "
             "tools/install-deps build installs it (Debian's package nginx), as make test does.");
    const fs::path config = nginx_test::config_template();
    const std::string config_text = nginx_test::read_file(config);
    INFO("configuration template: " << config);
    REQUIRE(config_text.find("@BACKENDS@") != std::string::npos);

    nginx_test::Folder folder;
    const char* const names[] = {"first", "second"};
    std::vector<std::unique_ptr<Program>> servers;
    std::vector<eventlet::Address> addresses;
    std::string backends;
    for (const char* name : names) {
        const fs::path root = folder.path() / name;
        fs::create_directory(root);
        nginx_test::write_file(root / "index.html", std::string("served by the ") + name + " server\n");
        servers.push_back(std::make_unique<Program>(EVENTLET_BIN_DIR "/static_server",
                                                    std::vector<std::string>{"--root", root.string(), "--port", "0"}));
        addresses.push_back(servers.back()->listening_address());
        backends += "server " + addresses.back().to_string() + "; ";
    }

    // Another process may take the port between free_port() and nginx's
    // bind; then nginx exits at once, and another port is tried.
    std::optional<nginx_test::Nginx> proxy;
    std::uint16_t port = 0;
    for (int attempt = 1; !proxy; ++attempt) {
        port = nginx_test::free_port();
        std::string text = nginx_test::fill(config_text, "@DIR@", folder.path().string());
        text = nginx_test::fill(text, "@LISTEN@", "127.0.0.1:" + std::to_string(port));
        nginx_test::write_file(folder.path() / "nginx.conf", nginx_test::fill(text, "@BACKENDS@", backends));
        fs::remove(folder.path() / "error.log");
        proxy.emplace(nginx, folder.path());
        if (proxy->wait_until_serving())
            break;
        const std::string logs = proxy->logs();
        INFO("nginx exited with wait status " << proxy->status() << "; its logs: " << logs);
        REQUIRE((attempt < 5 && logs.find("Address already in use") != std::string::npos));
        proxy.reset();
    }

    // 40 requests on 4 connections kept open to nginx, 10 on each.
    int answered[2] = {0, 0};
    for (int connection = 0; connection < 4; ++connection) {
        wsgi_test::RawClient client(eventlet::Address{"127.0.0.1", port});
        for (int request = 0; request < 10; ++request) {
            client.send(wsgi_test::get("/"));
            const wsgi_test::Response response = client.response();
            INFO("response " << response.status_line << ": " << response.body);
            REQUIRE(response.status == 200);
            const bool first = response.body == "served by the first server\n";
            REQUIRE((first || response.body == "served by the second server\n"));
            ++answered[first ? 0 : 1];
        }
    }
    INFO("answered by the first server: " << answered[0] << ", by the second: " << answered[1]);
    CHECK(answered[0] > 0);
    CHECK(answered[1] > 0);

    // nginx keeps the connections of finished requests to each server, open
    // and idle, for the next ones: without `keepalive`, HTTP/1.1 and an empty
    // Connection header, it would have closed each after its response.
    for (const eventlet::Address& server : addresses) {
        INFO("connections open to " << server.to_string());
        int open = 0;
        for (int tries = 0; tries < 100 && (open = nginx_test::connections_to(server.port())) == 0; ++tries)
            eventlet::sleep(0.02);
        CHECK(open > 0);
    }

    const int status = proxy->stop();
    INFO("nginx's logs: " << proxy->logs());
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    for (auto& server : servers) {
        server->signal(SIGTERM);
        CHECK(server->exit_code() == 0);
    }
}
