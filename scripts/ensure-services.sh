#!/bin/sh
# Start what the test suite needs and is not already running: PostgreSQL on 127.0.0.1:5432
# with trust authentication for local connections (the suite creates and drops its own
# databases as the `postgres` role). Idempotent; safe to run on a developer's machine.
set -eu

if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL is not running on 127.0.0.1:5432 and this script is not root: start it yourself" >&2
    exit 1
fi
echo "starting PostgreSQL on 127.0.0.1:5432"
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
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
