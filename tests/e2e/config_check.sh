#!/usr/bin/env bash
# `tandem --check` accepts the shipped configuration and rejects broken ones with exit code 2
# and a message that names the file, the position and the problem.
set -uo pipefail
: "${TANDEM_BIN:?}" "${TANDEM_SOURCE_DIR:?}"
cd "$TANDEM_SOURCE_DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

expect() { # expect NAME WANT_RC WANT_TEXT CONFIG_TEXT
    local name=$1 want_rc=$2 want_text=$3
    printf '%s' "$4" > "$work/$name.toml"
    local out rc
    out=$("$TANDEM_BIN" --check --config "$work/$name.toml" 2>&1)
    rc=$?
    if [[ $rc -ne $want_rc || "$out" != *"$want_text"* ]]; then
        echo "FAIL $name: rc=$rc (want $want_rc), output: $out (want: $want_text)"
        failures=$((failures + 1))
    else
        echo "ok   $name: $out"
    fi
}

expect valid 0 "configuration is valid" "$(cat config/tandem.toml)"
expect unknown_key 2 "$work/unknown_key.toml:3:1: unknown key 'sip.lisen'" \
    $'[sip]\nlisten = ["udp:127.0.0.1:5060"]\nlisen = ["udp:127.0.0.1:5061"]\n'
expect bad_port 2 "$work/bad_port.toml:2:11: 'sip.listen': bad port '65536'" \
    $'[sip]\nlisten = ["udp:127.0.0.1:65536"]\n'
expect bad_api_port 2 "'api.listen': bad port '99999'" $'[api]\nlisten = "127.0.0.1:99999"\n'
expect missing_scenario 2 "$work/missing_scenario.toml:2:8: 'scenario.file': cannot read file '/nonexistent/x.tdm' (no such file)" \
    $'[scenario]\nfile = "/nonexistent/x.tdm"\n'
expect bad_address 2 "bad IP address '300.1.1.1'" $'[sip]\nlisten = ["udp:300.1.1.1:5060"]\n'
expect wrong_type 2 "'limits.max_calls' must be an integer" $'[limits]\nmax_calls = "many"\n'

out=$("$TANDEM_BIN" --check --config "$work/does-not-exist.toml" 2>&1); rc=$?
if [[ $rc -ne 2 || "$out" != *"cannot read the configuration file"* ]]; then
    echo "FAIL missing config file: rc=$rc $out"; failures=$((failures + 1))
fi
out=$("$TANDEM_BIN" --version); rc=$?
if [[ $rc -ne 0 || "$out" != "tandem "* ]]; then
    echo "FAIL --version: rc=$rc $out"; failures=$((failures + 1))
fi
# Without --config the embedded default is checked (run from the source root).
out=$("$TANDEM_BIN" --check 2>&1); rc=$?
if [[ $rc -ne 0 || "$out" != "<embedded default>: configuration is valid" ]]; then
    echo "FAIL embedded default: rc=$rc $out"; failures=$((failures + 1))
fi

echo "config_check: $failures failure(s)"
exit $(( failures > 0 ))
