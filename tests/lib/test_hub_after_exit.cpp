// A thread's hub is destroyed during the thread's exit, with its other
// thread_local objects; one made before the hub is destroyed after it. Its
// destructor may not use the hub any more: it gets a clear error, not the
// dead hub.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>

#include <stdexcept>
#include <string>
#include <thread>

namespace {

// Made before the thread's hub, so destroyed after it.
struct SleepsAtExit {
    std::string* outcome;
    ~SleepsAtExit()
    {
        try {
            eventlet::sleep(0);
            *outcome = "slept";
        } catch (const std::logic_error& error) {
            *outcome = error.what();
        }
    }
};

} // namespace

TEST_CASE("using the hub after it was destroyed, during the thread's exit, throws logic_error",
          "[hub][threads]")
{
    std::string outcome = "not run";
    bool hub_existed_at_exit = true;
    std::thread([&] {
        thread_local SleepsAtExit sleeper{&outcome};
        (void)sleeper;
        eventlet::sleep(0); // the hub is made now, after `sleeper`
        struct NotesHub {
            bool* existed;
            ~NotesHub() { *existed = eventlet::Hub::existing() != nullptr; }
        };
        thread_local NotesHub notes{&hub_existed_at_exit}; // made after the hub: destroyed before it
        (void)notes;
    }).join();
    CHECK(hub_existed_at_exit);
    CHECK_THAT(outcome, Catch::Contains("hub was used after it was destroyed"));
}
