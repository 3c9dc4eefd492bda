#!/usr/bin/env bash
# The daemon starts from a config, listens for SIP on UDP and for the REST API on HTTP, answers
# JSON errors for bad API requests, and stops cleanly on SIGTERM and SIGINT.
source "$(dirname "$0")/lib/common.sh"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

SIP_PORT=26060
API_PORT=26061
write_config "$work/tandem.toml" $SIP_PORT $API_PORT

for sig in TERM INT; do
    "$TANDEM_BIN" --config "$work/tandem.toml" > "$work/log.$sig" 2>&1 &
    pid=$!
    track $pid
    wait_for_api $API_PORT 10 || fail "API did not answer within 10 s ($sig run)"
    udp_listening $SIP_PORT || fail "nothing listens on 127.0.0.1:$SIP_PORT/udp ($sig run)"
    status=$(curl -s "http://127.0.0.1:$API_PORT/v1/status")
    [[ "$status" == *'"sip_listen":["udp:127.0.0.1:'$SIP_PORT'"]'* ]] || fail "status: $status"
    code=$(curl -s -o "$work/body" -w '%{http_code}' "http://127.0.0.1:$API_PORT/v1/nothing")
    [[ $code == 404 && "$(cat "$work/body")" == *'"error"'* ]] || fail "404 answer: $code $(cat "$work/body")"
    kill -$sig $pid
    wait_exit $pid 10; rc=$exit_code
    [[ $rc == 0 ]] || fail "exit after SIG$sig: $rc"
    grep -q "level=info stopped" "$work/log.$sig" || fail "no clean stop logged after SIG$sig"
    udp_listening $SIP_PORT && fail "port $SIP_PORT still bound after stop"
done

# A port that is taken is a start-up error with a message, not a hang.
# The blocker says when it listens: on a loaded machine a fixed sleep is not enough.
python3 -c "import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $API_PORT)); s.listen(); open(sys.argv[1], 'w').close(); time.sleep(30)" "$work/blocker.ready" &
blocker=$!
track $blocker
for _ in $(seq 1 100); do [[ -e $work/blocker.ready ]] && break; sleep 0.1; done
[[ -e $work/blocker.ready ]] || fail "the port blocker did not start within 10 s"
"$TANDEM_BIN" --config "$work/tandem.toml" > "$work/log.busy" 2>&1 &
pid=$!
track $pid
wait_exit $pid 10; rc=$exit_code
[[ $rc == 1 ]] || fail "start with a busy API port: exit $rc (want 1)"
grep -q "cannot bind the REST API" "$work/log.busy" || fail "no bind error logged: $(cat "$work/log.busy")"
kill $blocker 2>/dev/null

echo "daemon_lifecycle: $failures failure(s)"
exit $(( failures > 0 ))
