"""The local stand-ins for what a cluster provides, so Netclode runs on one machine:
  stack/        `netclode up`: the supervisor running every component as a local process
  sandboxhost/  the kubelet's part: a daemon owning the bubblewrap sandboxes
  broker.py     Knative Eventing's part: the Broker, Triggers and PingSource of knative/

The control plane never imports this package (the import contracts in pyproject.toml):
the local driver reaches the sandbox host over its socket, and functions publish to the
broker over HTTP as they would on a cluster.
"""
