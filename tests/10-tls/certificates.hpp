// Test support for chapter 10: a CA and the certificates its tests need,
// made at test time with OpenSSL's API (EC P-256 keys: milliseconds), in a
// folder of their own that is removed when the test program ends.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace tls_test {

namespace detail {

struct KeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertificateFree {
    void operator()(X509* certificate) const { X509_free(certificate); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Certificate = std::unique_ptr<X509, CertificateFree>;

inline void require(bool ok, const char* what)
{
    if (!ok)
        throw std::runtime_error(std::string("making test certificates: ") + what);
}

inline Key new_key()
{
    Key key(EVP_EC_gen("P-256"));
    require(key != nullptr, "EVP_EC_gen");
    return key;
}

inline void add_extension(X509* certificate, X509* issuer, int nid, const char* value)
{
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    require(extension != nullptr, value);
    X509_add_ext(certificate, extension, -1);
    X509_EXTENSION_free(extension);
}

/// A certificate for `key`, named `common_name`, valid from `from` to `to`
/// seconds from now, signed by `issuer` with `issuer_key` (itself if null).
inline Certificate make_certificate(EVP_PKEY* key, const char* common_name, long from, long to,
                                    X509* issuer, EVP_PKEY* issuer_key, bool is_ca,
                                    const char* alt_names)
{
    static long serial = 1;
    Certificate certificate(X509_new());
    require(certificate != nullptr, "X509_new");
    X509* made = certificate.get();
    X509_set_version(made, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(made), serial++);
    X509_gmtime_adj(X509_getm_notBefore(made), from);
    X509_gmtime_adj(X509_getm_notAfter(made), to);
    X509_set_pubkey(made, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(made), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
    X509* signer = issuer != nullptr ? issuer : made;
    X509_set_issuer_name(made, X509_get_subject_name(signer));
    add_extension(made, signer, NID_subject_key_identifier, "hash");
    if (is_ca) {
        add_extension(made, signer, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(made, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(made, signer, NID_basic_constraints, "CA:FALSE");
        add_extension(made, signer, NID_ext_key_usage, "serverAuth");
        add_extension(made, signer, NID_subject_alt_name, alt_names);
    }
    if (issuer != nullptr)
        add_extension(made, signer, NID_authority_key_identifier, "keyid");
    require(X509_sign(made, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
    return certificate;
}

inline void write_pem(const std::string& path, X509* certificate, EVP_PKEY* key)
{
    std::FILE* file = std::fopen(path.c_str(), "w");
    require(file != nullptr, "fopen");
    const bool ok = certificate != nullptr ? PEM_write_X509(file, certificate) == 1
                                           : PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr,
                                                                  nullptr) == 1;
    std::fclose(file);
    require(ok, "PEM_write");
}

} // namespace detail

/// The test CA and certificates, as PEM files. Every leaf names localhost,
/// 127.0.0.1 and ::1.
struct Certificates {
    std::string folder;
    std::string ca;                                  ///< the test CA's certificate
    std::string server_certificate, server_key;      ///< signed by the CA
    std::string expired_certificate, expired_key;    ///< signed by the CA, expired yesterday
    std::string self_signed_certificate, self_signed_key; ///< signed by itself
    std::string other_name_certificate, other_name_key;   ///< signed by the CA, for other.example only

    /// Made on first use, once per test program.
    static const Certificates& get()
    {
        static const Certificates made;
        return made;
    }

    ~Certificates()
    {
        std::error_code ignored;
        std::filesystem::remove_all(folder, ignored);
    }

private:
    Certificates()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "eventlet-tls-XXXXXX").string();
        detail::require(::mkdtemp(pattern.data()) != nullptr, "mkdtemp");
        folder = pattern;
        const char* names = "DNS:localhost,IP:127.0.0.1,IP:::1";
        constexpr long day = 24 * 3600;
        detail::Key ca_key = detail::new_key();
        detail::Certificate ca_certificate =
            detail::make_certificate(ca_key.get(), "eventlet test CA", -day, 30 * day, nullptr, nullptr, true, "");
        ca = folder + "/ca.pem";
        detail::write_pem(ca, ca_certificate.get(), nullptr);

        auto leaf = [&](const std::string& stem, long from, long to, bool self_signed, const char* alt_names,
                        std::string& certificate_path, std::string& key_path) {
            detail::Key key = detail::new_key();
            detail::Certificate certificate = detail::make_certificate(
                key.get(), "localhost", from, to, self_signed ? nullptr : ca_certificate.get(),
                self_signed ? nullptr : ca_key.get(), false, alt_names);
            certificate_path = folder + "/" + stem + ".pem";
            key_path = folder + "/" + stem + ".key";
            detail::write_pem(certificate_path, certificate.get(), nullptr);
            detail::write_pem(key_path, nullptr, key.get());
        };
        leaf("server", -day, 30 * day, false, names, server_certificate, server_key);
        leaf("expired", -2 * day, -day, false, names, expired_certificate, expired_key);
        leaf("self-signed", -day, 30 * day, true, names, self_signed_certificate, self_signed_key);
        leaf("other-name", -day, 30 * day, false, "DNS:other.example", other_name_certificate, other_name_key);
    }
};

} // namespace tls_test
