# Shared helpers for the end-to-end scripts. Source it; it sets `work` (a temp dir removed on
# exit) and kills every process registered with `track PID` when the script ends.
set -uo pipefail
: "${TANDEM_BIN:?TANDEM_BIN must point at the tandem binary}"
: "${TANDEM_SOURCE_DIR:?TANDEM_SOURCE_DIR must point at the source tree}"

work=$(mktemp -d)
_tracked=()
track() { _tracked+=("$1"); }
_cleanup() {
    for p in "${_tracked[@]}"; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap _cleanup EXIT

# write_config FILE SIP_PORT API_PORT [EXTRA_TOML]
write_config() {
    cat > "$1" <<TOML
[sip]
listen = ["udp:127.0.0.1:$2"]
[api]
listen = "127.0.0.1:$3"
[dataplane]
backend = "socket"
workers = ${WORKERS:-1}
[scenario]
file = "$TANDEM_SOURCE_DIR/config/scenarios/default.tdm"
[policy]
dir = "$TANDEM_SOURCE_DIR/config/policies"
[routing]
default_target = "sip:127.0.0.1:${UAS_PORT:-5070}"
${4:-}
TOML
}

# wait_for_api API_PORT SECONDS: polls /v1/status until it answers.
wait_for_api() {
    local deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do
        curl -sf "http://127.0.0.1:$1/v1/status" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# udp_listening PORT: true when some socket listens on 127.0.0.1:PORT/udp.
udp_listening() { ss -H -lun "sport = :$1" 2>/dev/null | grep -q .; }

# wait_exit PID SECONDS: waits for a child to end and sets `exit_code` to its status, or to
# "timeout". Not for use inside $(...): the child must belong to this shell.
wait_exit() {
    local deadline=$((SECONDS + $2))
    exit_code=timeout
    while ((SECONDS < deadline)); do
        if ! kill -0 "$1" 2>/dev/null; then
            wait "$1"
            exit_code=$?
            return
        fi
        sleep 0.05
    done
}
