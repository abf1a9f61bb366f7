#!/usr/bin/env bash
# A local Apache Kafka cluster for development and tests: 1 or 3 brokers,
# each a combined broker and KRaft controller, in a folder of its own, on
# free ports of 127.0.0.1, run as an unprivileged user. Each broker has a
# PLAINTEXT listener and a SASL_SSL listener (SCRAM-SHA-512, certificates of
# a test CA made with openssl). The broker comes from Maven Central, pinned in
# deploy/dev/kafka/pom.xml (docs/kafka.md says which version and why).
#
#   kafka.sh fetch                 fetch the pinned broker (once; cached) and
#                                  print the folder of its jars
#   kafka.sh start DIR [BROKERS]   a new DIR: CA, users, ports, KRaft storage,
#                                  then start every broker (1 or 3, default 3);
#                                  an existing DIR: start its stopped brokers.
#                                  Waits until the whole cluster answers; writes
#                                  DIR/bootstrap and DIR/bootstrap.sasl_ssl
#   kafka.sh stop DIR [ID]         stop every broker (or broker ID): SIGTERM,
#                                  SIGKILL after CRVS_DEVKAFKA_STOP_TIMEOUT s
#   kafka.sh kill DIR ID           kill -9 broker ID
#   kafka.sh restart DIR ID        start broker ID again, wait until it is back
#   kafka.sh status DIR            each broker: running or stopped, its ports
#   kafka.sh bootstrap DIR [plaintext|sasl_ssl]
#                                  the bootstrap list (default plaintext)
#   kafka.sh client-config DIR [plaintext|sasl_ssl] [USER]
#                                  kafka.* lines for a hub configuration file
#                                  (USER: crvs-ctl, default, or crvs-SERVICE:
#                                  crvs-birth-certificate ...)
#   kafka.sh leader DIR TOPIC PARTITION
#                                  the id of the partition's leader
#   kafka.sh tool DIR CLASS [ARGS] run one of Kafka's command-line tools (a
#                                  class such as
#                                  org.apache.kafka.tools.consumer.group.ConsumerGroupCommand)
#                                  with --bootstrap-server set to the cluster
#
# As root the brokers run as the system user `crvs` (CRVS_DEVKAFKA_USER; created
# when missing), which must be able to traverse the folders above DIR.
#
# Environment (CRVS_DEVKAFKA_*: a CRVS_KAFKA_* variable would be a librdkafka
# setting of every hub process started from the same shell):
# CRVS_DEVKAFKA_CACHE (where fetched jars are kept; default
# /var/cache/crvs-hub/kafka as root, ~/.cache/crvs-hub/kafka otherwise),
# CRVS_DEVKAFKA_HEAP (JVM heap per broker, default 512m), CRVS_DEVKAFKA_START_TIMEOUT
# (s, default 90), CRVS_DEVKAFKA_STOP_TIMEOUT (s, default 30), JAVA (default java),
# CRVS_DEVKAFKA_VERSION (another Kafka version than the pinned one, for a
# compatibility check of a new cluster; docs/kafka.md).
set -euo pipefail

PROG=kafka.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
POM="$HERE/kafka/pom.xml"
OS_USER=${CRVS_DEVKAFKA_USER:-crvs}
HEAP=${CRVS_DEVKAFKA_HEAP:-512m}
START_TIMEOUT=${CRVS_DEVKAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=${CRVS_DEVKAFKA_STOP_TIMEOUT:-30}
JAVA=${JAVA:-java}
# The SCRAM users every cluster gets: one per service (named as the service,
# allowed its own topic and group only) and crvsctl (apply_acls).
SERVICES=(birth-certificate death-notice divorce-judgment civil-registration)
SASL_USERS=(crvs-birth-certificate crvs-death-notice crvs-divorce-judgment crvs-civil-registration crvs-ctl)

die() { echo "$PROG: $*" >&2; exit 1; }
say() { echo "$PROG: $*" >&2; }
usage() {
    sed -n '9,33p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
# shellcheck source=deploy/dev/common.sh
. "$HERE/common.sh"

# ---------------------------------------------------------------- fetch

cache_root() {
    if [ -n "${CRVS_DEVKAFKA_CACHE:-}" ]; then echo "$CRVS_DEVKAFKA_CACHE"
    elif is_root; then echo /var/cache/crvs-hub/kafka
    else echo "${XDG_CACHE_HOME:-$HOME/.cache}/crvs-hub/kafka"
    fi
}

pinned_version() {
    sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n 1
}

# The version a new cluster gets: the pinned one unless CRVS_DEVKAFKA_VERSION.
wanted_version() {
    if [ -n "${CRVS_DEVKAFKA_VERSION:-}" ]; then echo "$CRVS_DEVKAFKA_VERSION"; else pinned_version; fi
}

# JVM options for the logging of Kafka VERSION: reload4j (3) or log4j2 (4);
# a broker's to its server.log, a tool's (KIND "tools-") to stderr.
log_opts() {
    local kind=${2:-}
    case "$1" in
    3.*) echo "-Dlog4j.configuration=file:$HERE/kafka/${kind}log4j.properties" ;;
    *) echo "-Dlog4j2.configurationFile=$HERE/kafka/${kind}log4j2.properties" ;;
    esac
}

# The jars of the pinned broker, fetched with Maven into a folder named after
# the version and the pom's digest: a changed pom fetches anew, an unchanged
# one needs no network (nor Maven) again.
kafka_fetch() {
    local version digest root libs line
    version=${1:-$(wanted_version)}
    [ -n "$version" ] || die "no <kafka.version> in $POM"
    [[ $version =~ ^[34]\.[0-9]+\.[0-9]+$ ]] || die "Kafka version '$version': want 3.x.y or 4.x.y"
    line=${version%%.*}
    digest=$(sha256sum "$POM" | cut -c1-12)
    root=$(cache_root)
    libs="$root/$version-$digest/libs"
    if [ -f "$libs/.complete" ]; then
        echo "$libs"
        return 0
    fi
    command -v mvn >/dev/null 2>&1 || die "Maven (mvn) is not installed; it fetches the broker from Maven Central"
    say "fetching Apache Kafka $version and its dependencies from Maven Central (once; cached in $root)"
    mkdir -p "$root"
    local tmp="$root/.fetch.$$"
    rm -rf "$tmp"
    if ! mvn -q -B -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
            -Dkafka.version="$version" -Dkafka.line="$line" \
            -DoutputDirectory="$tmp" >"$root/fetch.log" 2>&1; then
        tail -n 30 "$root/fetch.log" >&2
        rm -rf "$tmp"
        die "Maven could not fetch Apache Kafka $version (log $root/fetch.log)"
    fi
    [ -f "$tmp/kafka_2.13-$version.jar" ] || die "Maven finished but $tmp has no kafka_2.13-$version.jar"
    touch "$tmp/.complete"
    rm -rf "$(dirname "$libs")"
    mkdir -p "$(dirname "$libs")"
    mv "$tmp" "$libs"
    # Readable by the brokers' user when that is not us.
    chmod -R a+rX "$root"
    echo "$libs"
}

# ---------------------------------------------------------------- cluster

# A TCP port on 127.0.0.1 that nobody listens on and that is not in USED.
free_port() {
    local used=" $1 " p _
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 20000))
        case "$used" in *" $p "*) continue ;; esac
        [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ] || continue
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
        echo "$p"
        return 0
    done
    die "no free TCP port found"
}

load_cluster() {
    DIR=$(abspath "$1")
    [ -f "$DIR/cluster.env" ] || die "no cluster in $DIR (kafka.sh start $DIR)"
    # shellcheck disable=SC1091 # written by new_cluster
    . "$DIR/cluster.env"
}

check_id() {
    [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$BROKERS" ] \
        || die "no broker '$1' in $DIR (ids 1..$BROKERS)"
}

port_of() { local v="$2_$1"; echo "${!v}"; } # port_of ID PLAIN|SASL|CTRL

bootstrap_list() {
    local kind=$1 i out=""
    for i in $(seq 1 "$BROKERS"); do
        out="$out${out:+,}127.0.0.1:$(port_of "$i" "$kind")"
    done
    echo "$out"
}

# The test CA, and one key and certificate for every broker (PEM key store:
# the unencrypted PKCS#8 key followed by the certificate; SAN 127.0.0.1 and
# localhost), valid for a year.
make_certs() {
    local ca="$DIR/ca"
    mkdir -p "$ca"
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=crvs-hub test CA" \
        -keyout "$ca/ca.key" -out "$ca/ca.pem" 2>/dev/null || die "openssl: CA"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$ca/broker.key" -out "$ca/broker.csr" 2>/dev/null || die "openssl: broker key"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >"$ca/ext.cnf"
    openssl x509 -req -in "$ca/broker.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca.key" -CAcreateserial \
        -days 365 -extfile "$ca/ext.cnf" -out "$ca/broker.crt" 2>/dev/null || die "openssl: broker certificate"
    openssl pkcs8 -topk8 -nocrypt -in "$ca/broker.key" -out "$ca/broker.p8" || die "openssl: pkcs8"
    cat "$ca/broker.p8" "$ca/broker.crt" >"$ca/broker-keystore.pem"
    rm -f "$ca/broker.csr" "$ca/broker.key" "$ca/ca.srl" "$ca/ext.cnf"
    chmod 600 "$ca/ca.key" "$ca/broker.p8" "$ca/broker-keystore.pem"
}

write_server_properties() {
    local id=$1
    local b="$DIR/broker-$id" voters="" i
    for i in $(seq 1 "$BROKERS"); do
        voters="$voters${voters:+,}$i@127.0.0.1:$(port_of "$i" CTRL)"
    done
    local rf=$BROKERS isr=1
    [ "$rf" -le 3 ] || rf=3
    [ "$BROKERS" -lt 3 ] || isr=2
    cat >"$b/server.properties" <<EOP
# Broker $id of the local test cluster in $DIR (written by deploy/dev/kafka.sh).
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$(port_of "$id" PLAIN),SASL_SSL://127.0.0.1:$(port_of "$id" SASL),CONTROLLER://127.0.0.1:$(port_of "$id" CTRL)
advertised.listeners=PLAINTEXT://127.0.0.1:$(port_of "$id" PLAIN),SASL_SSL://127.0.0.1:$(port_of "$id" SASL)
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$b/data

# SASL_SSL: SCRAM-SHA-512 over TLS with the test CA's certificate.
# Its principals get what their ACLs allow (apply_acls), nothing else;
# PLAINTEXT (tests, development, between brokers and controllers) is
# User:ANONYMOUS, a super user.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
allow.everyone.if.no.acl.found=false
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=$DIR/ca/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$DIR/ca/ca.pem

# Topics are created on purpose, as in production (crvsctl topics create).
auto.create.topics.enable=false
num.partitions=3
default.replication.factor=$rf
min.insync.replicas=$isr
unclean.leader.election.enable=false
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=10
# Tests start consumers one after another: no wait for more to join.
group.initial.rebalance.delay.ms=0
EOP
}

new_cluster() {
    local brokers=$1 libs=$2 used="" i p
    [ "$brokers" = 1 ] || [ "$brokers" = 3 ] || die "BROKERS must be 1 or 3, not '$brokers'"
    command -v openssl >/dev/null 2>&1 || die "openssl is not installed"
    mkdir -p "$DIR"
    [ -z "$(ls -A "$DIR")" ] || die "$DIR is neither empty nor a cluster folder"
    {
        echo "# The local Kafka cluster in this folder (deploy/dev/kafka.sh)."
        echo "BROKERS=$brokers"
        echo "LIBS=$libs"
        echo "KAFKA_VERSION=$(wanted_version)"
        for i in $(seq 1 "$brokers"); do
            for kind in PLAIN SASL CTRL; do
                p=$(free_port "$used")
                used="$used $p"
                echo "${kind}_$i=$p"
            done
        done
    } >"$DIR/cluster.env.tmp"
    mv "$DIR/cluster.env.tmp" "$DIR/cluster.env"
    # shellcheck disable=SC1091
    . "$DIR/cluster.env"

    make_certs
    local u
    : >"$DIR/users"
    for u in "${SASL_USERS[@]}"; do
        echo "$u $(openssl rand -hex 16)" >>"$DIR/users"
    done
    chmod 600 "$DIR/users"

    local id cluster_id scram=() pw
    while read -r u pw; do
        scram+=(--add-scram "SCRAM-SHA-512=[name=$u,password=$pw]")
    done <"$DIR/users"
    cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null) \
        || die "kafka-storage random-uuid failed"
    echo "CLUSTER_ID=$cluster_id" >>"$DIR/cluster.env"
    for id in $(seq 1 "$BROKERS"); do
        mkdir -p "$DIR/broker-$id/data"
        write_server_properties "$id"
    done
    if is_root && [ "$OS_USER" != root ]; then
        ensure_os_user "$OS_USER"
        chown -R "$OS_USER:" "$DIR"
    fi
    # The brokers' storage formatted side by side (a JVM start each).
    local pids=()
    for id in $(seq 1 "$BROKERS"); do
        # shellcheck disable=SC2046 # log_opts is one word
        as_user "$OS_USER" "$JAVA" -cp "$LIBS/*" $(log_opts "$KAFKA_VERSION") \
            -Dkafka.logs.dir="$DIR/broker-$id" kafka.tools.StorageTool format \
            -t "$cluster_id" -c "$DIR/broker-$id/server.properties" "${scram[@]}" \
            >"$DIR/broker-$id/format.log" 2>&1 &
        pids+=($!)
    done
    for id in $(seq 1 "$BROKERS"); do
        wait "${pids[$((id - 1))]}" \
            || { cat "$DIR/broker-$id/format.log" >&2; die "formatting the storage of broker $id failed"; }
    done
    say "new cluster of $BROKERS broker(s), Kafka $KAFKA_VERSION, id $cluster_id, in $DIR"
}

# kafka_java CLASS ARGS...: one of Kafka's tools with the fetched jars.
kafka_java() {
    # shellcheck disable=SC2046 # log_opts is one word
    "$JAVA" -cp "$LIBS/*" $(log_opts "$KAFKA_VERSION" tools-) "$@"
}

broker_pid() {
    local f="$DIR/broker-$1/broker.pid" pid
    [ -f "$f" ] || return 1
    pid=$(cat "$f" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    pid_alive "$pid" || return 1
    grep -qF "$DIR/broker-$1/server.properties" "/proc/$pid/cmdline" 2>/dev/null || return 1
    echo "$pid"
}

launch_broker() {
    local id=$1
    local b="$DIR/broker-$id"
    if broker_pid "$id" >/dev/null; then return 0; fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$(port_of "$id" PLAIN)") 2>/dev/null; then
        die "port $(port_of "$id" PLAIN) of broker $id is taken by another program"
    fi
    echo "[$(date -u +%FT%TZ)] kafka.sh: launch broker $id" >>"$b/stdout.log"
    # setsid: a terminal's SIGINT is not for the brokers; they are stopped
    # through their pid files. The JVM's own pid is written by the shell
    # that execs it.
    # shellcheck disable=SC2016 # expanded by the inner shell
    as_user "$OS_USER" setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$b/broker.pid" \
        "$JAVA" -Xms256m -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        $(log_opts "$KAFKA_VERSION") -Dkafka.logs.dir="$b" \
        -cp "$LIBS/*" kafka.Kafka "$b/server.properties" \
        >>"$b/stdout.log" 2>&1 </dev/null &
}

# Waits until every running broker lists all BROKERS brokers in its metadata
# (the quorum has a leader and every broker registered). WANT: ids that must
# be running.
wait_ready() {
    local want=$1 deadline=$((SECONDS + START_TIMEOUT)) id n
    command -v kcat >/dev/null 2>&1 || die "kcat is not installed (deploy/dev/deps.sh installs it)"
    for id in $want; do
        until n=$(kcat -b "127.0.0.1:$(port_of "$id" PLAIN)" -L -m 2 2>/dev/null | sed -n 's/^ \([0-9]*\) brokers:$/\1/p') \
                && [ "${n:-0}" = "$BROKERS" ]; do
            if ! broker_pid "$id" >/dev/null; then
                sleep 0.5
                broker_pid "$id" >/dev/null || {
                    tail -n 30 "$DIR/broker-$id/stdout.log" "$DIR/broker-$id/server.log" >&2 2>/dev/null
                    die "broker $id exited at start (logs in $DIR/broker-$id)"
                }
            fi
            if [ $SECONDS -ge $deadline ]; then
                tail -n 30 "$DIR/broker-$id/server.log" >&2 2>/dev/null
                die "broker $id not ready after $START_TIMEOUT s (logs in $DIR/broker-$id)"
            fi
            sleep 0.5
        done
    done
}

write_bootstrap() {
    bootstrap_list PLAIN >"$DIR/bootstrap.tmp" && mv "$DIR/bootstrap.tmp" "$DIR/bootstrap"
    bootstrap_list SASL >"$DIR/bootstrap.sasl_ssl.tmp" && mv "$DIR/bootstrap.sasl_ssl.tmp" "$DIR/bootstrap.sasl_ssl"
}

# The ACLs of the SASL principals, once per cluster (DIR/acls): each service
# reads its topic and its group only; crvsctl has the hub's topics, reads
# and describes every group, creates and describes topics. Kafka's own tool
# over PLAINTEXT, one JVM per rule, side by side.
apply_acls() {
    [ -f "$DIR/acls" ] && return 0
    local cls=kafka.admin.AclCommand boot s pids=() rc=0
    [ "${KAFKA_VERSION%%.*}" -lt 4 ] || cls=org.apache.kafka.tools.AclCommand
    boot=$(bootstrap_list PLAIN)
    for s in "${SERVICES[@]}"; do
        kafka_java "$cls" --bootstrap-server "$boot" --add --allow-principal "User:crvs-$s" \
            --operation Read --operation Describe --topic "$s" --group "crvs-$s" \
            >"$DIR/acl-$s.log" 2>&1 &
        pids+=($!)
    done
    kafka_java "$cls" --bootstrap-server "$boot" --add --allow-principal User:crvs-ctl \
        --operation All --topic birth-certificate --topic death-notice --topic divorce-judgment \
        --topic civil-registration \
        >"$DIR/acl-ctl-topics.log" 2>&1 &
    pids+=($!)
    kafka_java "$cls" --bootstrap-server "$boot" --add --allow-principal User:crvs-ctl \
        --operation Read --operation Describe --group '*' >"$DIR/acl-ctl-groups.log" 2>&1 &
    pids+=($!)
    kafka_java "$cls" --bootstrap-server "$boot" --add --allow-principal User:crvs-ctl \
        --operation Create --operation Describe --operation DescribeConfigs --cluster \
        >"$DIR/acl-ctl-cluster.log" 2>&1 &
    pids+=($!)
    for s in "${pids[@]}"; do wait "$s" || rc=1; done
    [ $rc -eq 0 ] || { cat "$DIR"/acl-*.log >&2; die "adding the ACLs failed"; }
    cat "$DIR"/acl-*.log >"$DIR/acls"
    rm -f "$DIR"/acl-*.log
}

kafka_start() {
    [ $# -ge 1 ] && [ $# -le 2 ] || usage
    DIR=$(abspath "$1")
    local brokers=${2:-3}
    command -v "$JAVA" >/dev/null 2>&1 || die "no Java ($JAVA): install openjdk-17-jre-headless"
    if [ ! -f "$DIR/cluster.env" ]; then
        local libs
        libs=$(kafka_fetch)
        KAFKA_VERSION=$(wanted_version)
        new_cluster "$brokers" "$libs"
    else
        load_cluster "$DIR"
        [ $# -lt 2 ] || [ "$brokers" = "$BROKERS" ] \
            || die "$DIR holds a cluster of $BROKERS broker(s), not $brokers"
        [ -f "$LIBS/.complete" ] || LIBS=$(kafka_fetch "$KAFKA_VERSION")
    fi
    local id started=""
    for id in $(seq 1 "$BROKERS"); do
        broker_pid "$id" >/dev/null && continue
        launch_broker "$id"
        started="$started $id"
    done
    wait_ready "$(seq 1 "$BROKERS")"
    write_bootstrap
    apply_acls
    say "ready: $BROKERS broker(s), bootstrap $(cat "$DIR/bootstrap") (SASL_SSL $(cat "$DIR/bootstrap.sasl_ssl"))${started:+, started$started}"
}

stop_broker_pids() {
    local sig=$1
    shift
    local pid
    for pid in "$@"; do kill -"$sig" "$pid" 2>/dev/null || true; done
}

# Stops the given brokers together: a broker shutting down in order waits for
# the controller quorum, which the others form; stopped one by one, the last
# ones would wait for controllers already gone.
kafka_stop() {
    [ $# -ge 1 ] && [ $# -le 2 ] || usage
    load_cluster "$1"
    local ids pids=() id pid
    if [ $# -eq 2 ]; then check_id "$2"; ids=$2; else ids=$(seq 1 "$BROKERS"); fi
    for id in $ids; do
        pid=$(broker_pid "$id") && pids+=("$pid")
    done
    [ ${#pids[@]} -gt 0 ] || return 0
    stop_broker_pids TERM "${pids[@]}"
    local deadline=$((SECONDS + STOP_TIMEOUT)) left
    while :; do
        left=()
        for pid in "${pids[@]}"; do pid_alive "$pid" && left+=("$pid"); done
        [ ${#left[@]} -gt 0 ] || break
        if [ $SECONDS -ge $deadline ]; then
            say "broker(s) ${left[*]} ignored SIGTERM for $STOP_TIMEOUT s; SIGKILL"
            stop_broker_pids KILL "${left[@]}"
            sleep 0.5
            break
        fi
        sleep 0.2
    done
    say "stopped broker(s) $(echo $ids) of $DIR"
}

kafka_kill() {
    [ $# -eq 2 ] || usage
    load_cluster "$1"
    check_id "$2"
    local pid
    pid=$(broker_pid "$2") || die "broker $2 is not running"
    kill -KILL "$pid"
    local _
    for _ in $(seq 1 50); do pid_alive "$pid" || break; sleep 0.1; done
    say "killed broker $2 (pid $pid, SIGKILL)"
}

kafka_restart() {
    [ $# -eq 2 ] || usage
    load_cluster "$1"
    check_id "$2"
    broker_pid "$2" >/dev/null && die "broker $2 is running"
    launch_broker "$2"
    wait_ready "$2"
    say "broker $2 is back"
}

kafka_status() {
    [ $# -eq 1 ] || usage
    DIR=$(abspath "$1")
    if [ ! -f "$DIR/cluster.env" ]; then
        echo "no cluster in $DIR"
        return 3
    fi
    load_cluster "$DIR"
    local id pid up=0
    for id in $(seq 1 "$BROKERS"); do
        if pid=$(broker_pid "$id"); then
            up=$((up + 1))
            echo "broker $id: running (pid $pid), PLAINTEXT 127.0.0.1:$(port_of "$id" PLAIN), SASL_SSL 127.0.0.1:$(port_of "$id" SASL)"
        else
            echo "broker $id: stopped"
        fi
    done
    echo "Kafka $KAFKA_VERSION, $up of $BROKERS running, bootstrap $(bootstrap_list PLAIN)"
    [ "$up" -gt 0 ] || return 3
}

kafka_bootstrap() {
    [ $# -ge 1 ] && [ $# -le 2 ] || usage
    load_cluster "$1"
    case "${2:-plaintext}" in
    plaintext) bootstrap_list PLAIN ;;
    sasl_ssl) bootstrap_list SASL ;;
    *) die "listener '$2': plaintext or sasl_ssl" ;;
    esac
}

kafka_client_config() {
    [ $# -ge 1 ] && [ $# -le 3 ] || usage
    load_cluster "$1"
    local listener=${2:-plaintext} user=${3:-crvs-ctl} pw
    case "$listener" in
    plaintext)
        echo "kafka.bootstrap.servers = $(bootstrap_list PLAIN)"
        ;;
    sasl_ssl)
        pw=$(awk -v u="$user" '$1 == u { print $2 }' "$DIR/users")
        [ -n "$pw" ] || die "no SASL user '$user' in $DIR/users"
        cat <<EOC
kafka.bootstrap.servers = $(bootstrap_list SASL)
kafka.security.protocol = SASL_SSL
kafka.sasl.mechanisms = SCRAM-SHA-512
kafka.sasl.username = $user
kafka.sasl.password = $pw
kafka.ssl.ca.location = $DIR/ca/ca.pem
EOC
        ;;
    *) die "listener '$listener': plaintext or sasl_ssl" ;;
    esac
}

kafka_leader() {
    [ $# -eq 3 ] || usage
    load_cluster "$1"
    local topic=$2 partition=$3 leader
    leader=$(kcat -b "$(bootstrap_list PLAIN)" -L -t "$topic" -m 5 2>/dev/null \
        | sed -n "s/^ *partition $partition, leader \([0-9]*\),.*/\1/p")
    [ -n "$leader" ] || die "no leader known for $topic[$partition]"
    echo "$leader"
}

kafka_tool() {
    [ $# -ge 2 ] || usage
    load_cluster "$1"
    local class=$2
    shift 2
    kafka_java "$class" --bootstrap-server "$(bootstrap_list PLAIN)" "$@"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
fetch) kafka_fetch ;;
start) kafka_start "$@" ;;
stop) kafka_stop "$@" ;;
kill) kafka_kill "$@" ;;
restart) kafka_restart "$@" ;;
status) kafka_status "$@" ;;
bootstrap) kafka_bootstrap "$@" ;;
client-config) kafka_client_config "$@" ;;
leader) kafka_leader "$@" ;;
tool) kafka_tool "$@" ;;
*) usage ;;
esac
