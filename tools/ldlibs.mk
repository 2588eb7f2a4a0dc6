# The system libraries a snapshot's library needs, found in the headers its
# sources include: OpenSSL once it speaks TLS, zlib once it decodes
# compressed bodies, liburing once its hub reads through io_uring. $(1) is
# the snapshot's folder. Included by flags.mk and by fuzz/Makefile, which
# links lib's sources with clang.
snapshot_ldlibs = $(if $(shell grep -rls '<openssl/' $(1)/src),-lssl -lcrypto) \
                  $(if $(shell grep -rls '<zlib.h>' $(1)/src),-lz) \
                  $(if $(shell grep -rls '<liburing.h>' $(1)/src),-luring)
