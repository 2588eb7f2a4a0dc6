// A client Context's tickets, by server name, shared by its connections on
// every thread.
#include "tls/session_cache.hpp"

#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace eventlet::tls::detail {
namespace {

struct SessionFree {
    void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
};
using Session = std::unique_ptr<SSL_SESSION, SessionFree>;

// Bounded: a crawler that visits a million hosts keeps the tickets of the
// latest few thousand, not a million (each is a kilobyte or two).
constexpr std::size_t max_names = 4096;

struct SessionCache {
    std::mutex mutex; // a Context is shared by every thread's connections
    std::unordered_map<std::string, Session> newest;
};

void free_cache(void*, void* cache, CRYPTO_EX_DATA*, int, long, void*)
{
    std::unique_ptr<SessionCache> owned(static_cast<SessionCache*>(cache));
}

// Where a context keeps its cache, and a connection the name it was made
// for: slots of OpenSSL's "ex_data", numbered once per process.
int cache_slot()
{
    static const int slot = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_cache);
    return slot;
}

int name_slot()
{
    static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return slot;
}

SessionCache* cache_of(SSL_CTX* context)
{
    return static_cast<SessionCache*>(SSL_CTX_get_ex_data(context, cache_slot()));
}

// OpenSSL calls it with each new session of a client connection: in TLS 1.3,
// as the server's tickets arrive, after the handshake.
int keep_new_session(SSL* ssl, SSL_SESSION* session)
{
    SessionCache* cache = cache_of(SSL_get_SSL_CTX(ssl));
    const auto* name = static_cast<const std::string*>(SSL_get_ex_data(ssl, name_slot()));
    if (cache == nullptr || name == nullptr || SSL_SESSION_is_resumable(session) != 1)
        return 0; // not kept: OpenSSL frees it
    const std::lock_guard lock(cache->mutex);
    if (cache->newest.size() >= max_names && !cache->newest.contains(*name))
        cache->newest.erase(cache->newest.begin());
    cache->newest[*name] = Session(session);
    return 1; // kept: the reference is the cache's now
}

} // namespace

void keep_sessions(SSL_CTX* context)
{
    auto cache = std::make_unique<SessionCache>();
    if (SSL_CTX_set_ex_data(context, cache_slot(), cache.get()) != 1)
        return; // no resumption: every handshake is a full one, which works
    cache.release(); // free_cache() deletes it with the context
    // Kept by us, not in OpenSSL's own store, which a client never looks up.
    SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(context, keep_new_session);
}

void offer_session(SSL* ssl, const std::string& server_name)
{
    SessionCache* cache = cache_of(SSL_get_SSL_CTX(ssl));
    if (cache == nullptr || SSL_set_ex_data(ssl, name_slot(), const_cast<std::string*>(&server_name)) != 1)
        return;
    Session session;
    {
        const std::lock_guard lock(cache->mutex);
        const auto found = cache->newest.find(server_name);
        if (found == cache->newest.end())
            return;
        session = std::move(found->second);
        cache->newest.erase(found);
    }
    SSL_set_session(ssl, session.get()); // takes a reference of its own
}

} // namespace eventlet::tls::detail
