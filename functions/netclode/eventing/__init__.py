"""CloudEvents: the types we publish, publishing to the Broker, receiving from Triggers, and
the local stand-in that routes events from the knative/ manifests when no cluster is there."""
