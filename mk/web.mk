# The web app (functions/netclode/web): `make web` regenerates the TypeScript client from
# protocol/proto and rebuilds dist/, which is committed so `make up` needs no Node.
WEB := functions/netclode/web

.PHONY: web

web: setup-dev  ## Rebuild the web app's committed assets (needs node + npm)
	@cd $(WEB) && npm ci --no-audit --no-fund
	@cd $(WEB) && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" npm run generate
	@cd $(WEB) && npm run build
