// The "tls" error category of TlsError's codes.
#include "eventlet/tls/errors.hpp"

namespace eventlet::tls {
namespace {

class Category : public std::error_category {
public:
    const char* name() const noexcept override { return "tls"; }
    std::string message(int code) const override
    {
        switch (static_cast<Errc>(code)) {
        case Errc::protocol:
            return "TLS protocol error";
        case Errc::verify_failed:
            return "certificate verify failed";
        case Errc::truncated:
            return "TLS stream truncated";
        case Errc::unusable:
            return "TLS connection unusable";
        case Errc::configuration:
            return "TLS configuration error";
        }
        return "unknown TLS error";
    }
};

} // namespace

const std::error_category& tls_category() noexcept
{
    static const Category category;
    return category;
}

} // namespace eventlet::tls
