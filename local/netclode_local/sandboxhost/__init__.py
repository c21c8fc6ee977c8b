"""The sandbox host: a long-lived local daemon that owns the bubblewrap sandboxes.

Functions scale to zero, so sandboxes cannot be their children; like a kubelet, this
daemon starts and stops them, keeps their process trees, and bridges their two ways out
(control and secret proxy) to the host. `python -m netclode_local.sandboxhost` runs it; drivers
talk to it over its Unix socket (see server.py for the API, drivers/local.py for the client).
"""
