#!/bin/sh
# Install and start what the test suite needs and is not already there:
# - Debian's Chromium for the browser tests (Playwright drives it; it never downloads one);
# - Debian's faketime, to run a client years in the future;
# - PostgreSQL on 127.0.0.1:5432 with trust authentication for local connections (the
#   suite creates and drops its own databases as the `postgres` role);
# - for the directory tests: the headers python-ldap builds against (libldap2-dev,
#   libsasl2-dev), and OpenLDAP's slapd and tools, which the tests start themselves.
#   `ensure-services.sh build-deps` installs only these (before `pip install .[dev]`);
# - Debian's nginx, the TLS proxy of the compose topology test (tests/deploy), which the
#   test starts itself;
# - Debian's prometheus, which tests/e2e/test_prometheus.py starts to scrape a server;
# - a CJK font (fonts-noto-cjk), so that the browser tests' screenshots of the Chinese
#   pages show characters rather than boxes (people's browsers bring their own fonts);
# - axe-core from the npm registry, the accessibility check the browser tests inject, into
#   ${XDG_CACHE_HOME:-~/.cache}/depot-tests/axe-core (tests/browser/accessibility.py).
# Idempotent; safe to run on a developer's machine.
set -eu

apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "missing Debian package(s) $*: install them (this script is not root)" >&2
        exit 1
    fi
    # Several checkouts (worktrees, parallel CI jobs) may install at once: take turns
    # instead of failing on dpkg's lock.
    flock /var/lock/depot-ensure-services.lock sh -c '
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
    ' apt_install "$@"
}

missing=""
for package in libldap2-dev libsasl2-dev slapd ldap-utils; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' \
        || missing="$missing $package"
done
if [ -n "$missing" ]; then
    echo "installing$missing for python-ldap and the directory tests"
    # shellcheck disable=SC2086 # one word per package
    apt_install $missing
fi
if [ "${1:-}" = build-deps ]; then
    exit 0
fi

if [ ! -x /usr/sbin/nginx ]; then
    echo "installing Debian's nginx for the compose topology test (tests/deploy)"
    apt_install nginx
fi

if [ ! -x /usr/bin/prometheus ]; then
    echo "installing Debian's prometheus (a real scrape of /metrics, tests/e2e/test_prometheus.py)"
    apt_install prometheus
fi

if [ ! -x /usr/bin/faketime ]; then
    echo "installing Debian's faketime (archived bundles verified years later)"
    apt_install faketime
fi

if [ ! -x /usr/bin/chromium ]; then
    echo "installing Debian's chromium for the browser tests"
    apt_install chromium
fi

if ! fc-list :lang=zh family 2>/dev/null | grep -q .; then
    echo "installing fonts-noto-cjk for the screenshots of the Chinese pages"
    apt_install fonts-noto-cjk
fi

axe_dir="${XDG_CACHE_HOME:-$HOME/.cache}/depot-tests/axe-core"
if [ ! -f "$axe_dir/axe.min.js" ]; then
    echo "fetching axe-core from the npm registry for the browser tests' accessibility check"
    mkdir -p "$axe_dir"
    (cd "$axe_dir" && npm pack --silent axe-core@4 >/dev/null && tar -xzf axe-core-*.tgz \
        && cp package/axe.min.js axe.min.js && rm -rf package axe-core-*.tgz)
fi

if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL is not running on 127.0.0.1:5432 and this script is not root: start it yourself" >&2
    exit 1
fi
echo "starting PostgreSQL on 127.0.0.1:5432"
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt_install postgresql
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$version main"; then
    pg_createcluster "$version" main --port 5432
fi
hba=/etc/postgresql/$version/main/pg_hba.conf
grep -q '^host all all 127.0.0.1/32 trust' "$hba" || sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
    || pg_ctlcluster --skip-systemctl-redirect "$version" main reload
for _ in $(seq 50); do
    pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
    sleep 0.2
done
echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2
exit 1
