#!/usr/bin/env bash
# Rolls images of one tag out to the cluster (called by mk/deploy.mk; see `make help`).
#   rollout.sh functions FN...   new revision of each Knative Service FN with the functions
#                                image, then waits until every one is Ready on it
#   rollout.sh agent             points new sandboxes at the sandbox image, rolls the
#                                functions that start sandboxes, then drains the warm pool
#   rollout.sh secret-proxy      new secret-proxy pods on the secret-proxy image
# Environment: KUBECTL (kubectl with context and namespace), IMAGE_REGISTRY, TAG.
set -euo pipefail

: "${KUBECTL:?}" "${IMAGE_REGISTRY:?}" "${TAG:?}"
read -r -a kubectl <<<"$KUBECTL"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
# Functions that start sandboxes read NETCLODE_SANDBOX_IMAGE when their pod starts.
SANDBOX_STARTERS=(api pool)

image() { echo "$IMAGE_REGISTRY/$1:$TAG"; }

# A new Revision of Knative Service $1: the image (when given) and a rollout stamp, so the
# same tag also rolls (re-pull, re-read of the config).
new_revision() {
  local fn=$1 img=${2:-}
  local ops="{\"op\":\"add\",\"path\":\"/spec/template/metadata/annotations/netclode.io~1rollout\",\"value\":\"$stamp\"}"
  [[ -n $img ]] && ops+=",{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/0/image\",\"value\":\"$img\"}"
  "${kubectl[@]}" patch ksvc "$fn" --type json -p "[$ops]"
}

# Ready on the new generation, not the old one still reporting Ready.
wait_ready() {
  local fn generation
  for fn in "$@"; do
    generation=$("${kubectl[@]}" get ksvc "$fn" -o 'jsonpath={.metadata.generation}')
    "${kubectl[@]}" wait "ksvc/$fn" --for="jsonpath={.status.observedGeneration}=$generation" --timeout=180s
    "${kubectl[@]}" wait "ksvc/$fn" --for=condition=Ready --timeout=180s
  done
}

roll_functions() {
  local fn
  for fn in "$@"; do new_revision "$fn" "$(image netclode-functions)"; done
  wait_ready "$@"
}

# Takes every ready sandbox out of the pool atomically (none can be claimed while it goes),
# then deletes their pods; the pool function's next tick refills from the new image.
drain_pool() {
  local ids id
  ids=$("${kubectl[@]}" exec statefulset/redis -- valkey-cli --raw EVAL \
    "local ids = redis.call('LRANGE', KEYS[1], 0, -1); redis.call('DEL', KEYS[1]);
     for _, id in ipairs(ids) do redis.call('HSET', 'sandbox:' .. id, 'state', 'draining') end;
     return ids" 1 pool:ready)
  for id in $ids; do "${kubectl[@]}" delete pod "sbx-$id" --ignore-not-found --wait=false; done
  echo "drained: ${ids:-nothing}"
}

roll_agent() {
  local fn
  "${kubectl[@]}" patch configmap netclode-config --type merge \
    -p "{\"data\":{\"NETCLODE_SANDBOX_IMAGE\":\"$(image netclode-sandbox)\"}}"
  for fn in "${SANDBOX_STARTERS[@]}"; do new_revision "$fn"; done
  wait_ready "${SANDBOX_STARTERS[@]}"
  drain_pool
}

roll_secret_proxy() {
  local img
  img=$(image netclode-secret-proxy)
  "${kubectl[@]}" patch deployment secret-proxy --type strategic -p "{\"spec\":{\"template\":{
    \"metadata\":{\"annotations\":{\"netclode.io/rollout\":\"$stamp\"}},
    \"spec\":{\"initContainers\":[{\"name\":\"ca\",\"image\":\"$img\"}],
              \"containers\":[{\"name\":\"proxy\",\"image\":\"$img\"}]}}}}"
  "${kubectl[@]}" rollout status deployment/secret-proxy --timeout=120s
}

case "${1:-}" in
  functions) shift; [[ $# -gt 0 ]] || { echo "rollout.sh functions: name at least one function" >&2; exit 2; }; roll_functions "$@" ;;
  agent) roll_agent ;;
  secret-proxy) roll_secret_proxy ;;
  *) echo "usage: rollout.sh functions FN... | agent | secret-proxy" >&2; exit 2 ;;
esac
