// Name lookups on a small pool of OS threads: getaddrinfo() blocks, so it
// runs off the hub, and several run at once, so that one slow name does not
// hold up the others.
#include "lookup_threads.hpp"

#include <netdb.h>
#include <pthread.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include <asio/error.hpp>

#include "eventlet/detail/lookup.hpp"
#include "eventlet/socket_errors.hpp"
#include "sockaddr.hpp"

namespace eventlet::detail {
namespace {

// getaddrinfo's errors, in the categories Asio's resolver uses.
std::error_code lookup_error(int code)
{
    switch (code) {
    case EAI_AGAIN:
        return asio::error::host_not_found_try_again;
    case EAI_FAIL:
        return asio::error::no_recovery;
    case EAI_MEMORY:
        return asio::error::no_memory;
    case EAI_SERVICE:
        return asio::error::service_not_found;
    case EAI_FAMILY:
        return asio::error::address_family_not_supported;
    case EAI_SOCKTYPE:
        return asio::error::socket_type_not_supported;
    case EAI_SYSTEM:
        return {errno, std::system_category()};
    default: // EAI_NONAME, EAI_NODATA, ...
        return asio::error::host_not_found;
    }
}

std::vector<Address> system_lookup(const std::string& host, std::uint16_t port)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* list = nullptr;
    const int code = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list);
    if (code != 0)
        throw ResolveError(lookup_error(code), "cannot resolve '" + host + "'");
    const std::unique_ptr<addrinfo, void (*)(addrinfo*)> owned(list, ::freeaddrinfo);
    std::vector<Address> found;
    for (const addrinfo* entry = list; entry != nullptr; entry = entry->ai_next) {
        if (entry->ai_family == AF_INET || entry->ai_family == AF_INET6)
            found.push_back(from_sockaddr(entry->ai_addr, entry->ai_addrlen));
    }
    return found;
}

// The lookup threads and their line, shared with the threads themselves:
// they are detached (one may sit in getaddrinfo() for a long time, and
// must not hold up the process's exit), so the state outlives any owner.
struct LookupThreads {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<std::shared_ptr<Lookup>> line;
    LookupFunction lookup;
    std::size_t threads = 0;
    std::size_t idle = 0;
    // Threads still in a lookup that nobody waits for any more (given up
    // while running): they do not count against max_lookup_threads, or a
    // few names whose server never answers would hold up every lookup.
    std::size_t given_up = 0;
    // In a child of fork(), the parent's state: kept, never destroyed (see
    // after_fork_in_child()).
    std::shared_ptr<LookupThreads> inherited;

    static const std::shared_ptr<LookupThreads>& get() { return holder(); }

    // Never destroyed: at the process's exit, a state whose lock and
    // condition variable were inherited through fork() must not be (see
    // after_fork_in_child()); and detached threads may still use it.
    static std::shared_ptr<LookupThreads>& holder()
    {
        static std::shared_ptr<LookupThreads>* const shared = [] {
            auto* made = new std::shared_ptr<LookupThreads>(std::make_shared<LookupThreads>());
            ::pthread_atfork(nullptr, nullptr, after_fork_in_child);
            return made;
        }();
        return *shared;
    }

    // The child of fork() has none of the parent's threads, yet the lock
    // and condition variable still count them as waiters (or owners):
    // signalling or destroying them would wait for ever. The child starts
    // afresh with a state of its own; the parent's is kept, untouched.
    // Lookups that were in line or running in the parent are not answered
    // in the child. Runs while the child has a single thread.
    static void after_fork_in_child() noexcept
    {
        std::shared_ptr<LookupThreads>& shared = holder();
        std::shared_ptr<LookupThreads> fresh = std::make_shared<LookupThreads>();
        fresh->lookup = shared->lookup; // a test's replacement stays in force
        fresh->inherited = std::move(shared);
        shared = std::move(fresh);
    }

    // A thread that has nothing to do for this long ends.
    static constexpr std::chrono::seconds idle_limit{10};

    static void work(std::shared_ptr<LookupThreads> self);
};

void LookupThreads::work(std::shared_ptr<LookupThreads> self)
{
    std::unique_lock lock(self->mutex);
    for (;;) {
        ++self->idle;
        const bool woken =
            self->ready.wait_for(lock, idle_limit, [&] { return !self->line.empty(); });
        --self->idle;
        if (!woken) {
            --self->threads;
            return;
        }
        const std::shared_ptr<Lookup> lookup = std::move(self->line.front());
        self->line.pop_front();
        // Nobody waits for it any more: it leaves the line without running.
        if (lookup->stage == Lookup::Stage::abandoned)
            continue;
        lookup->stage = Lookup::Stage::running;
        const LookupFunction function = self->lookup ? self->lookup : system_lookup;
        lock.unlock();

        std::vector<Address> found;
        std::exception_ptr error;
        try {
            found = function(lookup->host, lookup->port);
        } catch (...) {
            error = std::current_exception();
        }

        lock.lock();
        if (lookup->stage == Lookup::Stage::abandoned) {
            --self->given_up;
            continue;
        }
        lookup->stage = Lookup::Stage::done;
        lookup->found = std::move(found);
        lookup->error = error;
        // Through the handle, never to the hub itself: a waiter parked when
        // its OS thread exited is never resumed, nor does it abandon its
        // lookup, and its hub is gone; post() then drops the call. The
        // waiter may also leave (time out) before the call runs: it checks.
        try {
            lookup->hub.post([lookup] {
                if (lookup->waiter != nullptr)
                    lookup->waiter->switch_to();
            });
        } catch (...) {
            // Out of memory: the waiter stays parked until its Timeout, if any.
        }
    }
}

} // namespace

Lookup::Lookup(std::string host, std::uint16_t port, HubHandle hub)
    : host(std::move(host)), port(port), hub(std::move(hub))
{
}

void submit(const std::shared_ptr<Lookup>& lookup)
{
    const std::shared_ptr<LookupThreads>& threads = LookupThreads::get();
    std::lock_guard lock(threads->mutex);
    threads->line.push_back(lookup);
    if (threads->line.size() > threads->idle &&
        threads->threads - threads->given_up < max_lookup_threads &&
        threads->threads < max_lookup_threads_in_all) {
        try {
            std::thread(LookupThreads::work, threads).detach();
            ++threads->threads;
            return;
        } catch (...) {
            if (threads->threads == 0) { // nobody would ever take it
                threads->line.pop_back();
                throw;
            }
        }
    }
    threads->ready.notify_one();
}

void abandon(Lookup& lookup) noexcept
{
    lookup.waiter = nullptr;
    const std::shared_ptr<LookupThreads>& threads = LookupThreads::get();
    std::lock_guard lock(threads->mutex);
    if (lookup.stage == Lookup::Stage::done)
        return;
    // Still in line, or running: a thread that meets it drops it.
    if (lookup.stage == Lookup::Stage::running)
        ++threads->given_up;
    lookup.stage = Lookup::Stage::abandoned;
}

std::vector<Address> take_result(Lookup& lookup)
{
    const std::shared_ptr<LookupThreads>& threads = LookupThreads::get();
    std::lock_guard lock(threads->mutex);
    if (lookup.stage != Lookup::Stage::done)
        throw std::logic_error("a green thread resolving '" + lookup.host +
                               "' was switched to before the lookup ended");
    if (lookup.error)
        std::rethrow_exception(lookup.error);
    return std::move(lookup.found);
}

LookupFunction replace_lookup(LookupFunction lookup)
{
    const std::shared_ptr<LookupThreads>& threads = LookupThreads::get();
    std::lock_guard lock(threads->mutex);
    return std::exchange(threads->lookup, std::move(lookup));
}

} // namespace eventlet::detail
