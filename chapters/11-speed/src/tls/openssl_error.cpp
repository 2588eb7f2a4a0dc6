// OpenSSL's error queue, read and emptied.
#include "tls/openssl_error.hpp"

#include <openssl/err.h>

#include <cstring>

namespace eventlet::tls::detail {

std::string take_openssl_reason()
{
    std::string reason;
    while (const unsigned long code = ERR_get_error()) {
        if (!reason.empty())
            continue;
        // A system error (a file that does not open) carries its errno, and
        // has no reason string of OpenSSL's own.
        if (ERR_SYSTEM_ERROR(code))
            reason = std::strerror(ERR_GET_REASON(code));
        else if (const char* text = ERR_reason_error_string(code))
            reason = text;
    }
    return reason.empty() ? "an unknown OpenSSL error" : reason;
}

} // namespace eventlet::tls::detail
