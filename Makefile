# Makefile — the two commands, and the steps they are made of.
#
#   make run     install what is missing, build, start the platform in the
#                foreground (Ctrl-C stops it)
#   make test    install what is missing, build with -Werror, run every suite
#                against a throwaway cluster
#   make start / make stop   the platform in the background
#
# This file only delegates: each directory builds itself.

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

all: build

deps:
	./scripts/deps.sh

build: deps
	$(MAKE) -C extension
	$(MAKE) -C common
	$(MAKE) -C api
	$(MAKE) -C bgworker all worker
	$(MAKE) -C tests/fakes
	$(MAKE) -C tests/tools
	$(MAKE) -C tests/unit all asan

# The extension and the dispatcher's background-worker module go into
# PostgreSQL's own directories: a preloaded module cannot live anywhere else.
install: build
	$(SUDO) $(MAKE) -C extension install
	$(SUDO) $(MAKE) -C bgworker install

run: install
	./scripts/platform.sh run

start: install
	./scripts/platform.sh start

stop:
	./scripts/platform.sh stop

status:
	./scripts/platform.sh status

# Delete the local cluster, e.g. after editing the SQL of the version under
# development (ALTER EXTENSION UPDATE does not re-run a script).
reset:
	./scripts/platform.sh reset

test: install
	./tests/run.sh

clean:
	$(MAKE) -C extension clean
	$(MAKE) -C common clean
	$(MAKE) -C api clean
	$(MAKE) -C bgworker clean
	$(MAKE) -C tests/fakes clean
	$(MAKE) -C tests/tools clean
	$(MAKE) -C tests/unit clean

.PHONY: all deps build install run start stop status reset test clean
