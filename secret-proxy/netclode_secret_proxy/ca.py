"""The proxy's CA: generated once under the confdir, then only ever reused.

mitmproxy would create its CA on first start too; creating it here first lets the local
stack hand the certificate to sandboxes before the proxy runs, with a name an operator
recognises. An existing CA is never replaced: rotation is a deliberate operator action
(delete the files, restart the proxy, recreate the sandboxes).
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import certifi
from mitmproxy.certs import CertStore

BASENAME = "mitmproxy"  # the file names mitmproxy looks for in its confdir
KEY_SIZE = 2048
ORGANIZATION = "Netclode Secret Proxy"
COMMON_NAME = "Netclode Secret Proxy CA"
BUNDLE = "netclode-ca-bundle.pem"


def ensure_ca(confdir: Path) -> Path:
    """Creates the CA if (and only if) none exists; returns the CA certificate's PEM path."""
    confdir = Path(confdir)
    if not (confdir / f"{BASENAME}-ca.pem").exists():
        CertStore.create_store(confdir, BASENAME, KEY_SIZE, ORGANIZATION, COMMON_NAME)
    return confdir / f"{BASENAME}-ca-cert.pem"


def _system_cas() -> bytes:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and os.path.isfile(candidate):
            return Path(candidate).read_bytes()
    return Path(certifi.where()).read_bytes()


def ca_bundle_path(confdir: Path) -> Path:
    """One PEM with the system CAs plus ours: SSL_CERT_FILE, REQUESTS_CA_BUNDLE and friends.

    Rewritten atomically on each call, so it follows system CA updates and a sandbox never
    reads a half-written bundle.
    """
    ours = ensure_ca(confdir).read_bytes()
    system = _system_cas()
    bundle = Path(confdir) / BUNDLE
    tmp = bundle.with_suffix(".tmp")
    tmp.write_bytes(system.rstrip(b"\n") + b"\n" + ours)
    tmp.chmod(0o644)
    tmp.replace(bundle)
    return bundle
