#!/usr/bin/env bash
# PostgreSQL over TLS with SCRAM (docs/security.md, "Encrypted
# connections"): a test CA made here with openssl signs the server's
# certificate (for localhost and 127.0.0.1); the server takes crvs_service
# only over TLS and only with its SCRAM password. A service configured with
# sslmode=verify-full and the CA stores records over an encrypted
# connection; crvsctl with another CA, with the wrong password, or without
# TLS is refused, and a service with another CA stores nothing and says why.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
itest_require openssl
hub_setup

tls=$ITEST_DIR/tls
itest_make_ca "$tls" ca
itest_make_ca "$tls" other-ca
itest_make_cert "$tls" ca server

# The server: its certificate and key in its data folder (its own user,
# key mode 0600), TLS on, crvs_service only over TLS with SCRAM.
data=$ITEST_DIR/pg
owner=$(stat -c %U "$data")
install -m 0644 -o "$owner" "$tls/server.crt" "$data/server.crt"
install -m 0600 -o "$owner" "$tls/server.key" "$data/server.key"
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
itest_psql "ALTER SYSTEM SET ssl = on" >/dev/null
itest_psql "ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1.2'" >/dev/null
itest_psql "SET password_encryption = 'scram-sha-256'; ALTER ROLE crvs_service PASSWORD '$password'" >/dev/null
hba=$(itest_psql "SHOW hba_file")
cat >"$ITEST_DIR/hba.conf" <<EOF
local     all  all                        trust
host      all  crvs_admin    127.0.0.1/32 trust
hostssl   all  crvs_service  127.0.0.1/32 scram-sha-256
hostnossl all  crvs_service  127.0.0.1/32 reject
EOF
install -m 0600 -o "$owner" "$ITEST_DIR/hba.conf" "$hba"
itest_psql "SELECT pg_reload_conf()" >/dev/null
sleep 1
itest_assert_eq "$(itest_psql "SHOW ssl")" on "server ssl"
itest_assert_eq "$(itest_psql "SELECT rolpassword LIKE 'SCRAM-SHA-256\$%' FROM pg_authid WHERE rolname = 'crvs_service'")" t \
    "crvs_service's password stored as SCRAM"

# Clients: a password file (mode 0600) and the CA.
printf '127.0.0.1:%s:crvs:crvs_service:%s\n' "$PGPORT" "$password" >"$tls/pgpass"
printf '127.0.0.1:%s:crvs:crvs_service:wrong-%s\n' "$PGPORT" "$password" >"$tls/pgpass-wrong"
chmod 600 "$tls/pgpass" "$tls/pgpass-wrong"
tls_conf() { # FILE CA PASSFILE SSLMODE: crvs_service over TLS
    cat >"$1" <<EOF
pg.user = crvs_service
pg.sslmode = $4
pg.sslrootcert = $tls/$2.crt
pg.passfile = $tls/$3
EOF
}
tls_conf "$ITEST_DIR/tls.conf" ca pgpass verify-full
tls_conf "$ITEST_DIR/other-ca.conf" other-ca pgpass verify-full
tls_conf "$ITEST_DIR/wrong-password.conf" ca pgpass-wrong verify-full
tls_conf "$ITEST_DIR/no-tls.conf" ca pgpass disable

# ctl_as CONF: crvsctl as crvs_service with CONF over ctl.conf (a command that
# role may run: it reads the reference data); prints its exit status.
ctl_as() { local rc=0; "$CTL" -c "$ITEST_DIR/ctl.conf" -c "$1" refdata show units >"$ITEST_DIR/ctl-as.out" 2>&1 || rc=$?; echo "$rc"; }
itest_assert_eq "$(ctl_as "$ITEST_DIR/tls.conf")" 0 "crvsctl over TLS, verify-full, the right CA and password"
itest_assert_eq "$(ctl_as "$ITEST_DIR/other-ca.conf")" 1 "crvsctl with another CA"
grep -qi "certificate verify failed" "$ITEST_DIR/ctl-as.out" || { cat "$ITEST_DIR/ctl-as.out" >&2; itest_fail "no certificate error given"; }
itest_assert_eq "$(ctl_as "$ITEST_DIR/wrong-password.conf")" 1 "crvsctl with the wrong password"
grep -qi "password authentication failed" "$ITEST_DIR/ctl-as.out" || { cat "$ITEST_DIR/ctl-as.out" >&2; itest_fail "no password error given"; }
itest_assert_eq "$(ctl_as "$ITEST_DIR/no-tls.conf")" 1 "crvsctl without TLS"
grep -qi "pg_hba.conf rejects" "$ITEST_DIR/ctl-as.out" || { cat "$ITEST_DIR/ctl-as.out" >&2; itest_fail "no refusal given"; }
if grep -q "$password" "$ITEST_DIR/ctl-as.out"; then itest_fail "the password was printed"; fi

# A service with another CA stores nothing and says why; with the CA it
# stores everything over TLS.
cp "$ITEST_DIR/birth-certificate.conf" "$ITEST_DIR/birth-certificate.plain"
cat "$ITEST_DIR/birth-certificate.plain" "$ITEST_DIR/other-ca.conf" >"$ITEST_DIR/birth-certificate.conf"
hub_start_service birth-certificate
"$CTL" loadgen --topic birth-certificate --count 40 --seed 3 >"$ITEST_DIR/docs.jsonl" 2>/dev/null
hub_ctl publish --topic birth-certificate "$ITEST_DIR/docs.jsonl" >/dev/null
for _ in $(seq 1 50); do
    grep -qi "certificate verify failed" "$ITEST_DIR/birth-certificate.1.log" && break
    sleep 0.2
done
grep -qi "certificate verify failed" "$ITEST_DIR/birth-certificate.1.log" \
    || { tail -n 20 "$ITEST_DIR/birth-certificate.1.log" >&2; itest_fail "the service does not say the certificate was refused"; }
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" 0 "rows stored with another CA"
hub_stop_service birth-certificate
cat "$ITEST_DIR/birth-certificate.plain" "$ITEST_DIR/tls.conf" >"$ITEST_DIR/birth-certificate.conf"
hub_start_service birth-certificate
hub_wait_stored 120
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.audit_log WHERE source_topic = 'birth-certificate'")" 40 "records stored over TLS"
itest_assert_eq "$(itest_psql "SELECT count(*) > 0 AND bool_and(s.ssl) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
                                WHERE a.usename = 'crvs_service'")" t "the service's connections are encrypted"
itest_assert_eq "$(itest_psql "SELECT min(s.version) >= 'TLSv1.2' FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
                                WHERE a.usename = 'crvs_service'")" t "TLS 1.2 or newer"
itest_log "ok"
