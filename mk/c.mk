# mk/c.mk — compiler settings shared by api/, bgworker/ and tests/unit/.
#
# Warnings are errors everywhere; Kore's extra warnings for the daemons.
# SANITIZE=1 builds with AddressSanitizer and UndefinedBehaviorSanitizer.

CC       ?= cc
CSTD      = -std=c11 -D_GNU_SOURCE
WARNINGS  = -Wall -Wextra -Werror -Wmissing-prototypes -Wshadow -Wstrict-prototypes
CFLAGS   ?= -O2 -g
CFLAGS   += $(CSTD) $(WARNINGS)

ifeq ($(SANITIZE),1)
CFLAGS   += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
endif
