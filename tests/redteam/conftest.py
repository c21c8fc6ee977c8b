"""The red-team suites reuse the real stacks of the suites they attack."""

from tests.secretproxy.conftest import proxied, secret_proxy  # noqa: F401  (fixtures)
