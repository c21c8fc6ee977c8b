"""`.env` filters: `dotenv` parses the text of a `.env` file into a dict; `setting` and
`settings` read a value from the controller's environment, else from that dict;
`from_dotenv` reads values from that dict alone (secrets).

`settings` and `from_dotenv` take a mapping of Netclode setting names (what the functions
read, netclode_protocol/settings.py) to `.env` keys (the original's names): `.env` keeps
its keys while every process reads `NETCLODE_` names.

Ansible has no built-in for this format and `.env` is where Netclode's real secrets and the
operator's settings live. Accepted lines: `KEY=value`, `export KEY=value`, values in single
or double quotes, blank lines and `#` comments. Anything else is an error naming the line
(never its content, which may hold a secret).

The process environment wins over `.env` (`NVIDIA_ENABLED=true ansible-playbook …` still
works without editing the file); an empty value counts as unset. Filters run on the
controller, so its environment is the one ansible-playbook was started with.
"""

from __future__ import annotations

import os
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


def setting(name: str, dotenv_vars: dict[str, str], default: str = "") -> str:
    """`name` from the environment, else from `.env`, else `default`."""
    return os.environ.get(name) or dotenv_vars.get(name) or default


def settings(keys: dict[str, str], dotenv_vars: dict[str, str]) -> dict[str, str]:
    """Setting name -> value for each `.env` key that is set (environment first, then
    `.env`)."""
    found = {name: setting(key, dotenv_vars) for name, key in keys.items()}
    return {name: value for name, value in found.items() if value}


def from_dotenv(keys: dict[str, str], dotenv_vars: dict[str, str]) -> dict[str, str]:
    """Setting name -> value for each `.env` key present in `.env` (never the environment:
    secrets come from the file only)."""
    return {name: dotenv_vars[key] for name, key in keys.items() if key in dotenv_vars}


class FilterModule:
    """Registers the filters of this file with Ansible."""

    def filters(self) -> dict[str, object]:
        return {
            "dotenv": dotenv,
            "setting": setting,
            "settings": settings,
            "from_dotenv": from_dotenv,
        }
