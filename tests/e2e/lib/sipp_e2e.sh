# shellcheck shell=bash
# Helpers for Tandem's sipp end-to-end tests: start and stop processes by PID, run one sipp
# side with every run bounded, read a sipp -stf statistics file. Sourced by the test scripts
# (tests/e2e/b2bua_flow.sh). Bash only; every wait is bounded; everything goes to loopback.

# PIDs this test started; e2e_cleanup kills exactly these.
E2E_PIDS=()

e2e_log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
e2e_fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
e2e_skip() { printf 'SKIP: %s\n' "$*" >&2; exit 77; }

# Kill every process this test started (TERM, then KILL after a bounded wait).
e2e_cleanup() {
    local pid i
    for pid in "${E2E_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${E2E_PIDS[@]}"; do
        for ((i = 0; i < 30; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    E2E_PIDS=()
}

# e2e_forget PID: drop a PID that has been waited for, so that e2e_cleanup never signals a
# process that later reuses the number.
e2e_forget() {
    local keep=() pid
    for pid in "${E2E_PIDS[@]}"; do
        [[ $pid == "$1" ]] || keep+=("$pid")
    done
    E2E_PIDS=("${keep[@]}")
}

# e2e_wait_udp PORT TIMEOUT_S: wait until something listens on UDP 127.0.0.1:PORT.
e2e_wait_udp() {
    local port=$1 limit=$2 i
    for ((i = 0; i < limit * 10; i++)); do
        if ss -Hlun "sport = :$port" 2>/dev/null | grep -q .; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# e2e_port_free PORT: true when nothing listens on UDP PORT.
e2e_port_free() {
    ! ss -Hlun "sport = :$1" 2>/dev/null | grep -q .
}

# e2e_csv_field FILE NAME: the value of column NAME in the last line of a sipp -stf file.
e2e_csv_field() {
    local file=$1 name=$2
    [[ -s $file ]] || { echo ""; return 1; }
    awk -F';' -v name="$name" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) col = i; next }
        { last = $0 }
        END { if (!col || last == "") exit 1; split(last, f, ";"); print f[col] }' "$file"
}

# e2e_calls FILE: "successful failed" from a sipp -stf file: fields 16 (SuccessfulCall(C)) and
# 18 (FailedCall(C)) of its last line, checked against the header names.
e2e_calls() {
    local file=$1 ok failed
    [[ -s $file ]] || { echo "- -"; return 1; }
    if [[ $(head -1 "$file" | cut -d';' -f16) != "SuccessfulCall(C)" ||
          $(head -1 "$file" | cut -d';' -f18) != "FailedCall(C)" ]]; then
        echo "- -"
        return 1
    fi
    ok=$(tail -1 "$file" | cut -d';' -f16)
    failed=$(tail -1 "$file" | cut -d';' -f18)
    echo "$ok $failed"
}

# e2e_show_errors DIR: print what sipp and tandem logged, for a failing test's output.
e2e_show_errors() {
    local dir=$1 f
    for f in "$dir"/*errors*.log "$dir"/*.out "$dir"/tandem.log; do
        [[ -s $f ]] || continue
        echo "----- $(basename "$f") (last 40 lines)" >&2
        tail -40 "$f" | cut -c1-400 >&2
    done
}
