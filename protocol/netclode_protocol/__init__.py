"""The protocol every deployable shares, and the only part of the control plane that the
sandbox runtime and the secret proxy import (and the only one bound into sandboxes): the
generated schema code (v1/, from protocol/proto), the error types, the provider and SDK
tables, the store's key names, the audit record and bearer credentials. It imports nothing
else of ours: a new import here would reach every sandbox.
"""

import sys

# httpx imports its own command-line tool (rich, pygments) whenever it is imported: a large
# share of every process's cold start, for a tool no Netclode process runs. A None entry
# makes just that import fail, which httpx expects (its `main` then asks for the extras).
# typeshed types the table as modules only; None is the import system's own "cannot import".
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
