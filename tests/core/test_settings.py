"""The settings table and its reader: what an operator sees when a setting is unset, set
right, or set wrong, and the README's settings section kept in step with the table."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from netclode_local.stack.control import StackError
from netclode_protocol import settings
from netclode_protocol.settings import (
    SETTINGS,
    TABLE,
    ConfigurationError,
    read_flag,
    read_float,
    read_int,
    read_text,
)
from tests.support.stack import start

REPO = Path(__file__).resolve().parents[2]


def test_unset_settings_read_as_the_tables_defaults() -> None:
    assert read_int("NETCLODE_POOL_SIZE", {}) == 2
    assert read_text("NETCLODE_REDIS_URL", {}) == "redis://127.0.0.1:6379/0"
    assert read_flag("NETCLODE_PREVIEW_TAILNET", {}) is False
    assert read_float("NETCLODE_PROXY_TOKEN_CACHE_S", {}) == 3.0
    # An empty value is unset, as a Kubernetes env entry with value "" is.
    assert read_int("NETCLODE_POOL_SIZE", {"NETCLODE_POOL_SIZE": "  "}) == 2


def test_set_values_are_parsed() -> None:
    assert read_int("NETCLODE_POOL_SIZE", {"NETCLODE_POOL_SIZE": " 7 "}) == 7
    assert read_text("NETCLODE_REDIS_URL", {"NETCLODE_REDIS_URL": "redis://r:1/0\n"}) == (
        "redis://r:1/0"
    )
    assert read_flag("NETCLODE_PREVIEW_TAILNET", {"NETCLODE_PREVIEW_TAILNET": "True"}) is True
    assert read_flag("NETCLODE_PREVIEW_TAILNET", {"NETCLODE_PREVIEW_TAILNET": "0"}) is False


def test_a_computed_default_comes_from_the_caller() -> None:
    assert read_int("NETCLODE_MAX_VCPUS", {}, default=3) == 3
    assert read_int("NETCLODE_MAX_VCPUS", {"NETCLODE_MAX_VCPUS": "5"}, default=3) == 5


@pytest.mark.parametrize(
    ("read", "name", "raw", "message"),
    [
        (read_int, "NETCLODE_POOL_SIZE", "two", "must be a whole number, got 'two'"),
        (read_int, "NETCLODE_SNAPSHOT_RETENTION", "0", "must be at least 1, got 0"),
        (read_float, "NETCLODE_PROXY_TOKEN_CACHE_S", "soon", "must be a number, got 'soon'"),
        (read_float, "NETCLODE_MODEL_GIVE_UP_S", "9.5", "must be at least 10, got 9.5"),
        (read_float, "NETCLODE_MODEL_GIVE_UP_S", "nan", "must be at least 10, got nan"),
        (read_flag, "NETCLODE_PREVIEW_TAILNET", "maybe", "must be true or false, got 'maybe'"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_setting(read, name, raw, message) -> None:
    with pytest.raises(ConfigurationError) as bad:
        read(name, {name: raw})
    assert str(bad.value) == f"configuration error: {name} {message}"


def test_a_bad_value_stops_a_process_with_that_line_and_no_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from netclode.config import Settings; Settings.from_env()"],
        env={"NETCLODE_POOL_SIZE": "lots", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "configuration error: NETCLODE_POOL_SIZE must be a whole number, got 'lots'"
    )


def test_a_bad_setting_fails_the_local_stack_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="configuration error: NETCLODE_API_PORT must be a whole"):
        start(tmp_path, {"NETCLODE_API_PORT": "many"})


def test_reading_a_name_the_table_lacks_is_refused() -> None:
    with pytest.raises(LookupError, match="POOL_SIZE is not in"):
        read_int("POOL_SIZE", {"POOL_SIZE": "3"})


def test_every_setting_of_ours_has_the_prefix_and_every_other_says_whose_it_is() -> None:
    assert len(SETTINGS) == len(TABLE), "a name is in the table twice"
    for entry in TABLE:
        assert entry.name.startswith(settings.PREFIX) != bool(entry.origin), entry.name
        assert entry.readers and set(entry.readers) <= set(settings.DEPLOYABLES), entry.name
        assert entry.help, entry.name
        if entry.default is not None:
            assert isinstance(entry.default, entry.type), entry.name


def test_the_table_imports_nothing_of_ours() -> None:
    tree = ast.parse(Path(settings.__file__).read_text())
    imported = {
        name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        )
    }
    assert all(name.split(".")[0] in sys.stdlib_module_names for name in imported), imported


def test_the_readme_settings_section_is_generated_from_the_table() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen-settings-doc.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    readme = (REPO / "README.md").read_text()
    assert all(f"| `{entry.name}` |" in readme for entry in TABLE)
