"""CloudEvents: the types we publish, publishing to the Broker, receiving from Triggers, and
the topology read from the knative/ manifests (the local stand-in, netclode_local.broker,
routes events by it when no cluster is there)."""
