# Operating the k3s cluster (included by the Makefile). kubectl uses the context that
# ansible/playbooks/fetch-kubeconfig.yaml writes.
CONTEXT ?= netclode
NAMESPACE ?= netclode
KUBECTL ?= kubectl --context $(CONTEXT) -n $(NAMESPACE)
# The image tag to roll out: the current commit by default, as CI and Ansible tag images.
TAG ?= $(shell git rev-parse --short=12 HEAD)
# Where the images are: dev.local = built on the host by ansible (site.yaml/k8s-only.yaml);
# set it to the registry path CI pushes to (.github/workflows/images.yaml, IMAGE_REGISTRY).
IMAGE_REGISTRY ?= dev.local
CONTROL_PLANE_FUNCTIONS := api ingest pool deadletter
GITHUB_BOT_FUNCTIONS := webhook bot
# Without Tailscale, kubectl reaches the API server through an SSH tunnel to this port.
DEPLOY_HOST ?= netclode
DEPLOY_USER ?= root
KUBE_TUNNEL_PORT ?= 16443
ROLLOUT = KUBECTL="$(KUBECTL)" IMAGE_REGISTRY="$(IMAGE_REGISTRY)" TAG="$(TAG)" scripts/rollout.sh

.PHONY: rollout-control-plane rollout-github-bot rollout-agent rollout-secret-proxy kube-tunnel

rollout-control-plane:  ## New revisions of the control-plane functions on image TAG, then wait until Ready
	@$(ROLLOUT) functions $(CONTROL_PLANE_FUNCTIONS)

rollout-github-bot:  ## New revisions of the webhook and bot functions on image TAG
	@$(ROLLOUT) functions $(GITHUB_BOT_FUNCTIONS)

rollout-agent:  ## New sandboxes from the sandbox image TAG: drain the warm pool
	@$(ROLLOUT) agent

rollout-secret-proxy:  ## Restart the secret proxy on image TAG (also picks up a new CA or secrets)
	@$(ROLLOUT) secret-proxy

kube-tunnel:  ## Without Tailscale: forward 127.0.0.1:KUBE_TUNNEL_PORT to the API server over SSH
	ssh -N -L $(KUBE_TUNNEL_PORT):127.0.0.1:6443 $(DEPLOY_USER)@$(DEPLOY_HOST)
