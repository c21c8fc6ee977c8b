#!/usr/bin/env bash
# After a deploy: does Netclode on the cluster work end to end?
#   NETCLODE_URL=https://… NETCLODE_TOKEN=<admin token> scripts/cluster-smoke.sh
# 1. the Broker, every Trigger and the PingSource are Ready;
# 2. a PingSource tick reaches the pool function: a warm sandbox removed is replaced;
# 3. a session is created, prompted, and has a snapshot after its turn;
# 4. `netclode ops revisions` lists every function of knative/, each Ready.
# Needs kubectl (context from playbooks/fetch-kubeconfig.yaml) and the repository's venv.
# SMOKE_CONTEXT, SMOKE_NAMESPACE and SMOKE_TIMEOUT (seconds per wait) override the defaults.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-$REPO/.venv/bin/python}
NETCLODE=${NETCLODE:-$REPO/.venv/bin/netclode}
CONTEXT=${SMOKE_CONTEXT:-netclode}
NAMESPACE=${SMOKE_NAMESPACE:-netclode}
TIMEOUT=${SMOKE_TIMEOUT:-180}

# The parsing, one reader per output; each prints its findings and fails on a problem.
PARSE='
import json, sys
what, args = sys.argv[1], sys.argv[2:]
doc = json.load(sys.stdin)

def ready(obj):
    conds = obj.get("status", {}).get("conditions", [])
    return next((c for c in conds if c.get("type") == "Ready"), {})

if what == "not-ready":  # kubectl get -o json: every item Ready, each wanted kind present
    kinds = {i["kind"] for i in doc["items"]}
    problems = [f"no {k} found" for k in args if k not in kinds]
    for item in doc["items"]:
        cond = ready(item)
        if cond.get("status") != "True":
            state = cond.get("status", "missing")
            why = cond.get("message") or cond.get("reason") or f"Ready is {state}"
            kind, name = item["kind"], item["metadata"]["name"]
            problems.append(f"{kind}/{name}: {why}")
    print("\n".join(problems))
    sys.exit(1 if problems else 0)
if what == "pool":  # netclode --json ops pool: "<target> <ready> <ready sandbox ids…>"
    ids = [s["id"] for s in doc.get("sandboxes", []) if s.get("state") == "ready"]
    print(doc.get("targetSize", 0), doc.get("ready", 0), *ids)
if what == "id":  # netclode --json sessions create
    print(doc["id"])
if what == "count":  # a JSON list (snapshots list)
    print(len(doc))
if what == "missing-functions":  # netclode --json ops revisions vs knative/ functions
    rows = {r["service"]: r for r in doc}
    problems = [f"{n}: not listed" for n in args if n not in rows]
    problems += [
        f"{n}: not Ready" for n in args if n in rows and rows[n]["ready"].get("status") != "True"
    ]
    print("\n".join(problems))
    sys.exit(1 if problems else 0)
'

parse() { "$PY" -c "$PARSE" "$@"; }
kube() { kubectl --context "$CONTEXT" -n "$NAMESPACE" "$@"; }
nc() { "$NETCLODE" --json "$@"; }
step() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# The names of the Knative Services declared in knative/ (one per function).
functions() {
  "$PY" -c 'import sys, yaml, pathlib
for p in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
    for d in yaml.safe_load_all(p.read_text()):
        if d and d.get("apiVersion") == "serving.knative.dev/v1" and d["kind"] == "Service":
            print(d["metadata"]["name"])' "$REPO/knative/base/functions"
}

# Retries `$@` every 5 s until it succeeds or TIMEOUT passes.
until_ok() {
  local deadline=$((SECONDS + TIMEOUT))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 5
  done
}

eventing_ready() {
  kube get brokers,triggers,pingsources -o json | parse not-ready Broker Trigger PingSource
}

pool_full_without() {
  local target ready ids
  read -r target ready ids < <(nc ops pool | parse pool)
  ((ready >= target)) && [[ " $ids " != *" $1 "* ]]
}

main() {
  step "Broker, Triggers and PingSource are Ready"
  until_ok eventing_ready || fail "eventing not ready"

  step "A tick reaches the pool function (a removed warm sandbox is replaced)"
  local target ready ids gone=""
  read -r target ready ids < <(nc ops pool | parse pool)
  ((target > 0)) || fail "the warm pool is disabled (NETCLODE_POOL_SIZE=0): nothing to refill"
  if [[ -n $ids ]]; then
    gone=${ids%% *}
    kube delete pod "sbx-$gone" --wait=false >/dev/null
  fi
  until_ok pool_full_without "$gone" || fail "the pool did not refill: are ticks delivered?"

  step "A session is created, prompted, and snapshotted"
  session=$(nc sessions create --name cluster-smoke | parse id)
  trap 'nc sessions delete "$session" >/dev/null || true' EXIT
  "$NETCLODE" prompt "$session" "Reply with the single word: ok" --wait --timeout "$TIMEOUT"
  has_snapshot() { (($(nc snapshots list "$session" | parse count) > 0)); }
  until_ok has_snapshot || fail "no snapshot after the turn"

  step "netclode ops revisions lists every function, Ready"
  mapfile -t names < <(functions)
  nc ops revisions --context "$CONTEXT" -n "$NAMESPACE" | parse missing-functions "${names[@]}" ||
    fail "functions missing or not ready"
  step "OK"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
