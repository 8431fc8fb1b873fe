#!/usr/bin/env bash
# Fuzzes the REST API against its own OpenAPI document with schemathesis (a bounded run).
#
#   end2end/api-fuzz.sh [PATH-TO-BINARY]        # default target/debug/picky-fleet (already built)
#
# Starts the given binary on a free port with a fresh temporary database and the built-in
# simulator (commands only reach the simulator), creates an admin API key with the admin CLI,
# and runs schemathesis against http://127.0.0.1:PORT/api/v1/openapi.json:
#   1. as the admin (Authorization: Bearer <key>), every operation except the SSE stream;
#   2. without a key (the unauthenticated surface: no 5xx, and no 2xx either; schemathesis
#      sends its own made-up bearer tokens and session cookies here);
#   3. GET /api/v1/events (a never-ending stream, which schemathesis cannot read) by hand:
#      401 without a key, 200 text/event-stream with one.
# Checks: `not_a_server_error` and `response_schema_conformance` (every documented response body
# must match its schema). Afterwards: the server must still be up, the run's key must still work,
# and the server log must have no panic and no "internal error". Exits non-zero on any failure; the reports (JUnit, HAR with every
# request and response) and the server log stay in target/api-fuzz/.
#
# Environment: API_FUZZ_EXAMPLES (test cases per operation, default 300: about 1.5 minutes on
# 2 cores), API_FUZZ_SEED (default 20261125), API_FUZZ_CHECKS (schemathesis checks, default as
# above; `all` adds the stricter contract checks), API_FUZZ_REPORT_DIR (default
# target/api-fuzz), API_FUZZ_VENV (default ~/.cache/picky-fleet/venv).
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" # the server finds its site root (target/site) relative to the working directory

bin=${1:-target/debug/picky-fleet}
examples=${API_FUZZ_EXAMPLES:-300}
checks=${API_FUZZ_CHECKS:-not_a_server_error,response_schema_conformance}
seed=${API_FUZZ_SEED:-20261125}
report_dir=${API_FUZZ_REPORT_DIR:-$root/target/api-fuzz}
venv=${API_FUZZ_VENV:-$HOME/.cache/picky-fleet/venv}

[[ -x $bin ]] || { echo "api-fuzz: no server binary at $bin (build it first)" >&2; exit 2; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
case $report_dir in /*) ;; *) report_dir=$root/$report_dir ;; esac

# --- schemathesis, pinned, in a venv outside the repository --------------------------------
if [[ "$("$venv/bin/schemathesis" --version 2>/dev/null || true)" != *"version $SCHEMATHESIS_VERSION" ]]; then
    echo "api-fuzz: installing schemathesis $SCHEMATHESIS_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION"
fi
st=$venv/bin/schemathesis
echo "api-fuzz: $("$st" --version)"

# --- the server ------------------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/picky-fleet-api-fuzz.XXXXXX")
server_pid=
fuzz_pid=
cleanup() {
    local status=$?
    if [[ -n $fuzz_pid ]]; then
        kill "$fuzz_pid" 2>/dev/null || true
        wait "$fuzz_pid" 2>/dev/null || true
    fi
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ -f $tmp/server.log ]]; then
        mkdir -p "$report_dir"
        cp "$tmp/server.log" "$report_dir/server.log"
    fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
export PICKY_FLEET_ADDR=127.0.0.1:$port
export PICKY_FLEET_SIM_ADDR=127.0.0.1:0
export PICKY_FLEET_DATABASE_URL=sqlite:$tmp/fleet.db
export PICKY_FLEET_DEMO_ADMIN_PASSWORD=api-fuzz-admin-password
export PICKY_FLEET_POLL_INTERVAL_SECS=5  # the poller runs alongside the fuzzer's changes
export PICKY_FLEET_VERIFY_DELAY_MS=100   # commands settle (pending -> outcome) within the run
export RUST_LOG=${RUST_LOG:-info}
unset PICKY_FLEET_UPSTREAM_URL PICKY_FLEET_SECRET_KEY

rm -rf "$report_dir/authenticated" "$report_dir/unauthenticated" "$report_dir/server.log"
mkdir -p "$report_dir"
"$bin" >"$tmp/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 100); do
    curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { echo "api-fuzz: the server exited at start:" >&2; cat "$tmp/server.log" >&2; exit 1; }
    sleep 0.2
done
curl -fsS -o /dev/null "$base/healthz" || { echo "api-fuzz: /healthz never answered" >&2; exit 1; }

# The demo admin is created on the first start; the CLI is safe beside the running server.
key=
for _ in $(seq 25); do
    if key=$("$bin" apikey create --user admin --label "api-fuzz" 2>"$tmp/apikey.err"); then break; fi
    key=
    sleep 0.2
done
[[ $key == pf_* ]] || { echo "api-fuzz: could not create an API key:" >&2; cat "$tmp/apikey.err" >&2; exit 1; }
auth="Authorization: Bearer $key"

json() { curl -fsS -H "$auth" "$base/api/v1/$1" | python3 -c "import json, sys; d = json.load(sys.stdin); print($2)"; }
key_id=$(json api-keys "next(k['id'] for k in d if k['prefix'] == '${key:0:11}')")
user_id=$(json users "next(u['id'] for u in d if u['username'] == 'admin')")
project_ids=$(json projects "' '.join(str(p['id']) for p in d)")
# The first half of the demo projects are never deleted, so commands have targets throughout.
keep_project_ids=$(python3 -c "import sys; ids = sys.argv[1:]; print(' '.join(ids[:(len(ids) + 1) // 2]))" $project_ids)

# --- hooks: protect the fuzzer's own credentials, and steer some inputs to valid values -------
cat >"$tmp/hooks.py" <<'PY'
import json
import os

import schemathesis
from hypothesis import strategies as st

KEY_ID = int(os.environ["API_FUZZ_KEY_ID"])
USER_ID = int(os.environ["API_FUZZ_USER_ID"])
PROJECT_IDS = [int(i) for i in os.environ["API_FUZZ_PROJECT_IDS"].split()]
KEEP_PROJECT_IDS = {int(i) for i in os.environ["API_FUZZ_KEEP_PROJECT_IDS"].split()}
COMMANDS = ["restart", "restart-server", "delete-message-queue", "disconnect", "clearlogs"]
TOKENS = st.from_regex(r"[A-Za-z0-9_-]{16,40}", fullmatch=True)
USERNAMES = st.from_regex(r"[A-Za-z0-9._@-]{1,20}", fullmatch=True)


def as_id(value):
    """The number a path segment would parse to (more leniently than the server's i64), or None."""
    try:
        return int(str(value).strip())
    except ValueError:
        return None


@schemathesis.hook("filter_case")
def keep_our_credentials(context, case):
    """The run's own key must not be revoked, its admin not disabled or demoted, and half the
    projects not deleted; everything else is fair game."""
    op = (case.operation.method.upper(), case.operation.path)
    target = as_id((case.path_parameters or {}).get("id"))
    if op == ("DELETE", "/api/v1/api-keys/{id}") and target == KEY_ID:
        return False
    if op == ("PATCH", "/api/v1/users/{id}") and target == USER_ID:
        return False
    if op == ("DELETE", "/api/v1/projects/{id}") and target in KEEP_PROJECT_IDS:
        return False
    return True


@schemathesis.hook("flatmap_path_parameters")
def sometimes_a_real_project(context, path_parameters):
    """Random ids almost always 404; mix in the ids of real projects."""
    if (
        not context.operation.path.startswith("/api/v1/projects/{id}")
        or not isinstance(path_parameters, dict)
        or "id" not in path_parameters  # absent, or already given by a stateful link
        or not PROJECT_IDS
    ):
        return st.just(path_parameters)
    return st.one_of(
        st.just(path_parameters),
        st.sampled_from(PROJECT_IDS).map(lambda i: {**path_parameters, "id": i}),
    )


@schemathesis.hook("flatmap_body")
def sometimes_valid_values(context, body):
    """Mix valid tokens and command names into generated bodies, so the fuzzer gets past
    validation into the service layer (the schema cannot express these rules)."""
    if not isinstance(body, dict):
        return st.just(body)
    op = (context.operation.method.upper(), context.operation.path)
    if op in {("POST", "/api/v1/projects"), ("PATCH", "/api/v1/projects/{id}")} and "token" in body:
        return st.one_of(st.just(body), TOKENS.map(lambda t: {**body, "token": t}))
    if op == ("POST", "/api/v1/users") and "username" in body:
        valid = st.tuples(USERNAMES, st.text(min_size=10, max_size=40))
        return st.one_of(st.just(body), valid.map(lambda v: {**body, "username": v[0], "password": v[1]}))
    if op == ("POST", "/api/v1/projects/{id}/commands") and "command" in body:
        return st.one_of(st.just(body), st.sampled_from(COMMANDS).map(lambda c: {**body, "command": c}))
    return st.just(body)


SCHEMAS = json.load(open(os.environ["API_FUZZ_DOCUMENT"]))["components"]["schemas"]
AUDIT_FILTERS = {
    "action": st.sampled_from(SCHEMAS["AuditAction"]["enum"]),
    "outcome": st.sampled_from(SCHEMAS["AuditOutcome"]["enum"]),
    "project_id": st.integers(-1, 20).map(str),
    "before": st.integers(-1, 10_000).map(str),
    "limit": st.integers(0, 600).map(str),
    "since": st.sampled_from(["2026-01-01", "2026-11-25T14:00:00Z", "2999-12-31"]),
    "until": st.sampled_from(["2026-01-01", "2026-11-25T14:00:00+01:00", "2999-12-31"]),
}


@schemathesis.hook("flatmap_query")
def sometimes_valid_filters(context, query):
    """Random strings fail the audit filters' validation; mix in valid values, filter by filter."""
    if context.operation.path not in {"/api/v1/audit", "/api/v1/audit.csv"} or not isinstance(query, dict):
        return st.just(query)
    choices = {
        name: st.one_of(st.just(query[name]), valid) if name in query else st.just(None)
        for name, valid in AUDIT_FILTERS.items()
    }
    other = {k: v for k, v in query.items() if k not in AUDIT_FILTERS}
    return st.fixed_dictionaries(choices).map(
        lambda drawn: {**other, **{k: v for k, v in drawn.items() if v is not None}}
    )
PY
export SCHEMATHESIS_HOOKS=$tmp/hooks.py API_FUZZ_DOCUMENT=$tmp/openapi.json
export API_FUZZ_KEY_ID=$key_id API_FUZZ_USER_ID=$user_id
export API_FUZZ_PROJECT_IDS=$project_ids API_FUZZ_KEEP_PROJECT_IDS=$keep_project_ids

# --- the document ------------------------------------------------------------------------------
# Fuzzed as served, with one repair: a "path" parameter whose name is not in its path template
# cannot be sent as one, so schemathesis would never send it; it is fuzzed as the optional query
# parameter it must be (and reported: the document itself is wrong there).
curl -fsS "$base/api/v1/openapi.json" >"$tmp/openapi.served.json"
schema_bugs=$(python3 - "$tmp/openapi.served.json" "$tmp/openapi.json" <<'PY'
import json, re, sys
doc = json.load(open(sys.argv[1]))
for path, item in doc["paths"].items():
    template = set(re.findall(r"{([^}]+)}", path))
    for method, op in item.items():
        for p in op.get("parameters", []) if isinstance(op, dict) else []:
            if p.get("in") == "path" and p["name"] not in template:
                print(f"{method.upper()} {path}: '{p['name']}' is declared in: path, but the path has no {{{p['name']}}}")
                p["in"], p["required"] = "query", False
json.dump(doc, open(sys.argv[2], "w"))
PY
)
if [[ -n $schema_bugs ]]; then
    echo "api-fuzz: WARNING: the OpenAPI document declares parameters the path cannot carry;"
    echo "          fuzzing them as optional query parameters instead:"
    sed 's/^/            /' <<<"$schema_bugs"
fi

# --- the runs ----------------------------------------------------------------------------------
color=--no-color
[[ -t 1 ]] && color=--force-color
failed=()
fuzz() { # NAME EXAMPLES [schemathesis options...]
    local name=$1 n=$2
    shift 2
    echo
    echo "api-fuzz: === $name: $n examples per operation, seed $seed ==="
    # From the temp directory: schemathesis writes nothing into the repository. In the
    # background, so that a signal to this script is handled at once (see cleanup).
    (cd "$tmp" && exec timeout 600 "$st" run "$tmp/openapi.json" --url "$base" \
        --checks "$checks" \
        --max-examples "$n" --seed "$seed" --workers 1 \
        --generation-database none \
        --exclude-path /api/v1/events \
        --request-timeout 15 \
        --report junit,har --report-dir "$report_dir/$name" \
        "$color" "$@") &
    fuzz_pid=$!
    wait "$fuzz_pid" || failed+=("$name")
    fuzz_pid=
}

fuzz authenticated "$examples" -H "$auth"
fuzz unauthenticated $(((examples + 4) / 5))

echo
echo "api-fuzz: === GET /api/v1/events (a stream; checked by hand) ==="
events_unauth=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$base/api/v1/events" || true)
events_auth=$(curl -sS -o /dev/null -w '%{http_code} %{content_type}' --max-time 2 -H "$auth" "$base/api/v1/events" 2>/dev/null || true)
echo "without a key: $events_unauth; with the key: $events_auth"
[[ $events_unauth == 401 && $events_auth == "200 text/event-stream"* ]] || failed+=(events)

echo
echo "api-fuzz: === afterwards ==="
if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "the server is gone (crashed?)"
    failed+=(server-exited)
    server_pid=
fi
if [[ $(curl -sS -o /dev/null -w '%{http_code}' -H "$auth" "$base/api/v1/projects" || true) != 200 ]]; then
    # The hooks keep the key alive; if it died, much of the run only saw 401s.
    echo "the run's API key no longer works: the hooks failed to protect it"
    failed+=(key-revoked)
fi
if grep -E -n "panicked|internal error" "$tmp/server.log"; then
    failed+=(server-log)
fi
# schemathesis already failed the run on any 5xx; this lists them once more, all in one place,
# and checks that nothing answered 2xx without a key.
if ! python3 - "$report_dir" <<'PY'; then
import glob, json, sys
ok = True
for har in sorted(glob.glob(f"{sys.argv[1]}/*/har-*.json")):
    unauthenticated = "/unauthenticated/" in har
    for entry in json.load(open(har))["log"]["entries"]:
        status, request = entry["response"]["status"], entry["request"]
        if status >= 500 or (unauthenticated and 200 <= status < 300):
            ok = False
            print(f"  {status} {request['method']} {request['url']}" + (" (without a key)" if unauthenticated else ""))
print("5xx responses, and 2xx responses without a key:", "none" if ok else "see above")
sys.exit(0 if ok else 1)
PY
    failed+=(har)
fi

echo
echo "api-fuzz: took $SECONDS s; reports and server.log in $report_dir"
if ((${#failed[@]})); then
    echo "api-fuzz: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "api-fuzz: ok, no server errors"
