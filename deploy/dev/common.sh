# Helpers of the development scripts (pg.sh, broker.sh, kafka.sh). Source it
# after defining PROG and die(); it defines functions only.

is_root() { [ "$(id -u)" -eq 0 ]; }

# True while PID is a live process (a zombie waiting to be reaped is not).
pid_alive() {
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ "$state" != Z ]
}

abspath() {
    case "$1" in
    /*) echo "$1" ;;
    *) echo "$(pwd)/$1" ;;
    esac
}

# as_user USER CMD...: runs CMD as USER when we are root (ourselves
# otherwise), from / so that a cwd the user cannot read, e.g. /root, does not
# bother the server.
as_user() {
    local user=$1
    shift
    if is_root && [ "$user" != root ]; then
        (cd / && runuser -u "$user" -- "$@")
    else
        (cd / && "$@")
    fi
}

# ensure_os_user USER: as root, creates the system user USER that runs the
# development servers (PostgreSQL's initdb and Kafka refuse or should not
# run as root) when it is missing.
ensure_os_user() {
    local user=$1
    is_root || return 0
    id "$user" >/dev/null 2>&1 && return 0
    echo "$PROG: creating system user $user to run the development servers" >&2
    useradd --system --user-group --create-home --home-dir "/var/lib/$user" \
        --shell /usr/sbin/nologin --comment "crvs-hub development servers" "$user" \
        || die "useradd $user failed"
}
