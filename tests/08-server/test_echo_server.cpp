// Chapter 8: the echo_server program, run as a process and checked from outside.
#include <catch2/catch.hpp>

#include <eventlet/buffered_reader.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "program.hpp"
#include "server_support.hpp"

using eventlet::Address;
using eventlet::GreenSocket;
using server_test::recv_to_end;

namespace {

const std::string echo_server = EVENTLET_BIN_DIR "/echo_server";

} // namespace

TEST_CASE("echo_server prints where it listens, echoes, and exits 0 on SIGTERM or SIGINT, "
          "closing its clients",
          "[server][program]")
{
    const eventlet::Timeout bound(30); // a failure bound, not a synchronisation
    const auto [signal, name] = GENERATE(std::pair{SIGTERM, "SIGTERM"}, std::pair{SIGINT, "SIGINT"});
    INFO(name);
    test_support::Program program =
        test_support::start_program(echo_server, {"--host", "127.0.0.1", "--port", "0"});
    eventlet::BufferedReader out(program.out);
    const std::string line = out.readline();
    const std::string prefix = "listening on 127.0.0.1:";
    REQUIRE(line.rfind(prefix, 0) == 0);
    REQUIRE(line.back() == '\n');
    const Address where = Address::parse(line.substr(13, line.size() - 14));
    CHECK(where.port() != 0);

    GreenSocket client = eventlet::connect(where, 5);
    GreenSocket other = eventlet::connect(where, 5);
    const std::string message = "hello, echo server\n";
    client.sendall(message);
    eventlet::BufferedReader reader(client);
    CHECK(reader.readline() == message);
    other.sendall("second client");
    CHECK(other.recv(100) == "second client");

    REQUIRE(::kill(program.pid, signal) == 0);
    CHECK(reader.read_all().empty()); // the server closed its clients
    CHECK(recv_to_end(other).empty());
    CHECK(out.read_all() == "stopping on " + std::string(name) + "\n");
    CHECK(test_support::read_to_end(program.err) == "");
    const int status = program.wait();
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK_THROWS_AS(eventlet::connect(where, 5), eventlet::ConnectionRefused);
}

TEST_CASE("echo_server refuses bad usage with a usage message and status 2; --help is status 0",
          "[server][program]")
{
    const eventlet::Timeout bound(30);
    SECTION("bad usage")
    {
        const auto arguments = GENERATE(std::vector<std::string>{"--bogus"},
                                        std::vector<std::string>{"--port"},
                                        std::vector<std::string>{"--port", "http"},
                                        std::vector<std::string>{"--port", "70000"},
                                        std::vector<std::string>{"--port", "-1"},
                                        std::vector<std::string>{"extra"});
        INFO(arguments.front());
        test_support::Program program = test_support::start_program(echo_server, arguments);
        CHECK(test_support::read_to_end(program.out) == "");
        const std::string errors = test_support::read_to_end(program.err);
        CHECK_THAT(errors, Catch::StartsWith("echo_server: "));
        CHECK_THAT(errors, Catch::Contains("usage: echo_server [--host HOST] [--port PORT]"));
        const int status = program.wait();
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 2);
    }
    SECTION("--help")
    {
        test_support::Program program = test_support::start_program(echo_server, {"--help"});
        CHECK_THAT(test_support::read_to_end(program.out),
                   Catch::StartsWith("usage: echo_server [--host HOST] [--port PORT]"));
        CHECK(test_support::read_to_end(program.err) == "");
        const int status = program.wait();
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
}

TEST_CASE("echo_server reports an address it cannot listen on and exits 1", "[server][program]")
{
    const eventlet::Timeout bound(30);
    GreenSocket taken = eventlet::listen({"127.0.0.1", 0});
    const std::string port = std::to_string(taken.local_address().port());
    test_support::Program program =
        test_support::start_program(echo_server, {"--host", "127.0.0.1", "--port", port});
    CHECK(test_support::read_to_end(program.out) == "");
    CHECK_THAT(test_support::read_to_end(program.err), Catch::Contains("Address already in use"));
    const int status = program.wait();
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
}

TEST_CASE("echo_server closes a client silent for longer than --idle-timeout, and serves the others",
          "[server][program]")
{
    const eventlet::Timeout bound(30);
    test_support::Program program =
        test_support::start_program(echo_server, {"--host", "127.0.0.1", "--port", "0", "--idle-timeout", "0.2"});
    eventlet::BufferedReader out(program.out);
    const std::string line = out.readline();
    REQUIRE(line.rfind("listening on ", 0) == 0);
    const Address where = Address::parse(line.substr(13, line.size() - 14));
    GreenSocket silent = eventlet::connect(where, 5);
    CHECK(recv_to_end(silent).empty()); // closed by the server, with nothing sent
    GreenSocket talking = eventlet::connect(where, 5);
    talking.sendall("still here");
    CHECK(talking.recv(100) == "still here");
    REQUIRE(::kill(program.pid, SIGTERM) == 0);
    const int status = program.wait();
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
