"""`dotenv` filter: parse the text of a `.env` file into a dict.

Ansible has no built-in for this format and `.env` is where Netclode's real secrets live.
Accepted lines: `KEY=value`, `export KEY=value`, values in single or double quotes, blank
lines and `#` comments. Anything else is an error naming the line (never its content, which
may hold a secret).
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        inner = value[1:-1]
        return inner.replace("\\n", "\n") if value[0] == '"' else inner
    return re.sub(r"\s+#.*$", "", value)


def dotenv(text: str) -> dict[str, str]:
    """Return the variables defined in `text`, later definitions winning."""
    result: dict[str, str] = {}
    for number, line in enumerate(str(text).splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise AnsibleFilterError(f".env line {number} is not KEY=value")
        result[match.group(1)] = _unquote(match.group(2))
    return result


class FilterModule:
    """Registers the filters of this file with Ansible."""

    def filters(self) -> dict[str, object]:
        return {"dotenv": dotenv}
