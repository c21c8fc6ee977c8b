"""The local stand-ins for kubelet and Knative: `netclode up`, the sandbox host, the broker."""
