#!/usr/bin/env bash
# scripts/deps.sh — install the Debian packages the build, the platform and the
# tests need.  Idempotent: asks dpkg what is already installed and only calls
# apt-get for the rest, so a second run downloads nothing.  Runs apt-get as
# root directly, or through sudo for a normal user.
set -euo pipefail

PACKAGES=(
	build-essential pkg-config clang
	postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-15-pgtap
	libtap-parser-sourcehandler-pgtap-perl
	libpq-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev libjansson-dev libargon2-dev
	check
	jq curl openssl
	docker-compose
	unicode-data publicsuffix libyaml-libyaml-perl
	wrk
)

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done

# Node.js and npm only fetch Swagger UI's static files (below); any
# Node.js with npm will do, Debian's if none is installed.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PACKAGES[@]} packages present"
else

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# --no-install-recommends: docker-compose would otherwise pull in a container
# engine that cannot run here and is not needed to validate compose files.
$SUDO apt-get install -y -qq --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
fi

# Swagger UI, served by the API at /api/schema/swagger-ui/: the static
# files of the npm package swagger-ui-dist, pinned, installed once.
SWAGGER_VERSION=5.35.0
SWAGGER_DIR="$(cd "$(dirname "$0")/.." && pwd)/api/swagger"
if [ ! -f "$SWAGGER_DIR/node_modules/swagger-ui-dist/swagger-ui-bundle.js" ] ||
	! grep -q "\"version\": \"$SWAGGER_VERSION\"" "$SWAGGER_DIR/node_modules/swagger-ui-dist/package.json"; then
	echo "deps: installing swagger-ui-dist@$SWAGGER_VERSION"
	mkdir -p "$SWAGGER_DIR"
	npm install --silent --no-audit --no-fund --prefix "$SWAGGER_DIR" "swagger-ui-dist@$SWAGGER_VERSION" >/dev/null
fi

# The OpenAPI 3.1 validator tests/e2e/openapi.t runs with node: the npm
# package @seriousme/openapi-schema-validator, pinned, installed once under
# tests/tools/node_modules (git-ignored).
OAV_VERSION=2.11.0
OAV_DIR="$(cd "$(dirname "$0")/.." && pwd)/tests/tools"
if [ ! -f "$OAV_DIR/node_modules/@seriousme/openapi-schema-validator/package.json" ] ||
	! grep -q "\"version\": \"$OAV_VERSION\"" "$OAV_DIR/node_modules/@seriousme/openapi-schema-validator/package.json"; then
	echo "deps: installing @seriousme/openapi-schema-validator@$OAV_VERSION"
	mkdir -p "$OAV_DIR"
	npm install --silent --no-audit --no-fund --prefix "$OAV_DIR" "@seriousme/openapi-schema-validator@$OAV_VERSION" >/dev/null
fi
