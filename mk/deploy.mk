# Rollouts on the k3s cluster (included by the Makefile). Uses the kubeconfig context that
# ansible/playbooks/fetch-kubeconfig.yaml writes.
CONTEXT ?= netclode
NAMESPACE ?= netclode
KUBECTL ?= kubectl --context $(CONTEXT) -n $(NAMESPACE)
FUNCTIONS ?= api ingest pool deadletter webhook bot
# Public host name of the webhook through Tailscale Funnel (<name>.<tailnet>.ts.net).
WEBHOOK_HOSTNAME ?=

.PHONY: rollout-functions rollout-agent rollout-secret-proxy expose-webhook

## rollout-functions: new Knative revisions of every function (re-pulls the image tag)
rollout-functions:
	@stamp=$$(date -u +%Y%m%dT%H%M%SZ); for fn in $(FUNCTIONS); do \
	  $(KUBECTL) patch ksvc $$fn --type merge -p \
	    "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"netclode.io/rollout\":\"$$stamp\"}}}}}" \
	  || exit 1; \
	done
	@for fn in $(FUNCTIONS); do $(KUBECTL) wait ksvc/$$fn --for=condition=Ready --timeout=180s || exit 1; done

## rollout-agent: drain the warm pool so new sandboxes start from the new sandbox image
# Atomically takes every ready sandbox out of the pool (so none can be claimed while it
# goes), then deletes their pods; the pool function's next tick removes them and refills.
rollout-agent:
	@ids=$$($(KUBECTL) exec statefulset/redis -- valkey-cli --raw EVAL \
	  "local ids = redis.call('LRANGE', KEYS[1], 0, -1); redis.call('DEL', KEYS[1]); \
	   for _, id in ipairs(ids) do redis.call('HSET', 'sandbox:' .. id, 'state', 'draining') end; \
	   return ids" 1 pool:ready); \
	for id in $$ids; do $(KUBECTL) delete pod "sbx-$$id" --ignore-not-found --wait=false; done; \
	echo "drained: $${ids:-nothing}"

## rollout-secret-proxy: restart the secret proxy (new image, CA or secrets file)
rollout-secret-proxy:
	$(KUBECTL) rollout restart deployment/secret-proxy
	$(KUBECTL) rollout status deployment/secret-proxy --timeout=120s

## expose-webhook: publish the webhook function through Tailscale Funnel at WEBHOOK_HOSTNAME
expose-webhook:
	@test -n "$(WEBHOOK_HOSTNAME)" || { echo "set WEBHOOK_HOSTNAME=<name>.<tailnet>.ts.net"; exit 1; }
	sed 's/netclode-webhook\.example\.ts\.net/$(WEBHOOK_HOSTNAME)/' knative/overlays/funnel/ingress.yaml \
	  | kubectl --context $(CONTEXT) apply -f -
