# bgworker/worker.mk — caas_dispatcher.so, the dispatcher as a PostgreSQL
# background worker (PGXS); run through `make worker` / `make install`.
#
# The module is worker_main.o plus the same core as the daemon
# (build/libbgworker.a, ../common/build/libcommon.a).  Their symbols are
# made local to the module (--exclude-libs): the postmaster exports
# thousands of names, and a clash must never send a call of ours into the
# server, or one of the server's into us.  Loaded by the caas extension's
# _PG_init (bgw_library_name "caas_dispatcher").

MODULE_big  = caas_dispatcher
OBJS        = build/pgxs/worker_main.o
PGFILEDESC  = "caas_dispatcher - publishes scheduled posts (caas)"

PG_CPPFLAGS = -Isrc -I../common/src $(shell pkg-config --cflags libcurl jansson)
SHLIB_LINK  = build/libbgworker.a ../common/build/libcommon.a \
	      $(shell pkg-config --libs libpq libcurl jansson libcrypto) \
	      -Wl,--exclude-libs,ALL
EXTRA_CLEAN = build/pgxs

override with_llvm = no
PG_CONFIG  ?= pg_config
PGXS       := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

build/pgxs/worker_main.o: src/worker_main.c $(wildcard src/*.h) build/libbgworker.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CFLAGS_SL) $(CPPFLAGS) -c -o $@ $<
