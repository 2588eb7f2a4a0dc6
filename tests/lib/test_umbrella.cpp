// The final library: <eventlet/eventlet.hpp> is the whole public API.
//
// This file includes nothing of the library but the umbrella header, so it
// only compiles if the umbrella brings in every layer. The last test case
// reads include/eventlet/ itself, so that a header added by a later chapter
// and forgotten in the umbrella fails here with its name.
#include <catch2/catch.hpp>

#include <eventlet/eventlet.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

// Where the library's public headers are: found from this file's own path
// (tests/lib/ beside lib/), which snapshot.mk compiles by its absolute
// path, so the test needs no flag of its own.
std::filesystem::path public_headers()
{
    return std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "lib" / "include" / "eventlet";
}

} // namespace

TEST_CASE("the umbrella header gives green threads, their sync objects and timeouts", "[lib][umbrella]")
{
    eventlet::Event<int> ready;
    eventlet::Semaphore one(1);
    eventlet::Queue<std::string> lines;
    auto producer = eventlet::spawn([&] {
        std::lock_guard hold(one);
        lines.put("first");
        ready.send(42);
        return eventlet::Greenlet::current().name();
    });
    eventlet::spawn_n([&] { lines.put("second"); });
    CHECK(ready.wait() == 42);
    CHECK(lines.get() == "first");
    CHECK(lines.get() == "second");
    producer.wait();

    eventlet::Event<void> never;
    CHECK_THROWS_AS(([&] {
                        eventlet::Timeout limit(eventlet::Seconds(0.001));
                        never.wait();
                    }()),
                    eventlet::TimeoutError);
    CHECK(eventlet::StackPool::default_stack_size >= eventlet::StackPool::min_stack_size);
}

TEST_CASE("the umbrella header gives green sockets and their buffered reader", "[lib][umbrella]")
{
    eventlet::GreenSocket listener = eventlet::listen(eventlet::Address("127.0.0.1", 0));
    auto server = eventlet::spawn([&] {
        auto [connection, peer] = listener.accept();
        eventlet::BufferedReader reader(connection);
        const std::string line = reader.readline();
        connection.sendall("echo: " + line);
        return peer;
    });
    eventlet::GreenSocket client = eventlet::connect(listener.local_address(), eventlet::Seconds(5));
    client.sendall("hello\n");
    client.shutdown(eventlet::Shutdown::write);
    eventlet::BufferedReader reader(client);
    CHECK(reader.read_all() == "echo: hello\n");
    CHECK(server.wait() == client.local_address());
    CHECK_THROWS_AS(eventlet::Address("", 1), eventlet::AddressError);
}

TEST_CASE("the umbrella header gives pools, piles, imap and join", "[lib][umbrella]")
{
    eventlet::GreenPool pool(2);
    const std::vector<int> input{1, 2, 3, 4};
    std::vector<int> squares;
    for (int square : pool.imap([](int x) { return x * x; }, input))
        squares.push_back(square);
    CHECK(squares == std::vector<int>{1, 4, 9, 16});

    eventlet::GreenPile<std::string> pile(pool);
    for (const char* word : {"a", "b", "c"})
        pile.spawn([word] { return std::string(word); });
    CHECK(eventlet::join(pile, "-") == "a-b-c");
    pool.waitall();
    CHECK(pool.running() == 0);
    CHECK(std::string(EVENTLET_VERSION).find('.') != std::string::npos);
}

TEST_CASE("every public header of include/eventlet is included by the umbrella header",
          "[lib][umbrella]")
{
    const std::filesystem::path folder = public_headers();
    INFO("public headers looked for in " << folder.string());
    REQUIRE(std::filesystem::is_regular_file(folder / "eventlet.hpp"));

    std::ifstream umbrella(folder / "eventlet.hpp");
    const std::string text{std::istreambuf_iterator<char>(umbrella), std::istreambuf_iterator<char>()};
    const std::regex include_line(R"(^\s*#\s*include\s*[<"]eventlet/([^">]+\.hpp)[">])",
                                  std::regex::multiline);
    std::set<std::string> included;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), include_line); it != std::sregex_iterator(); ++it)
        included.insert((*it)[1].str());

    // detail/ is not public (it is installed, for the public headers' sake,
    // but not part of the API); every other header counts, in subfolders
    // (http/) too.
    std::vector<std::string> missing;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
        const std::string name = entry.path().lexically_relative(folder).generic_string();
        if (entry.is_regular_file() && entry.path().extension() == ".hpp" && name != "eventlet.hpp" &&
            !name.starts_with("detail/") && !included.contains(name))
            missing.push_back(name);
    }
    std::sort(missing.begin(), missing.end());
    INFO("add to lib/include/eventlet/eventlet.hpp, in its layer: #include \"eventlet/NAME.hpp\"");
    CHECK(missing == std::vector<std::string>{});
    CHECK(included.size() >= 20);
}
