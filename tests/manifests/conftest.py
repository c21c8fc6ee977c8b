"""The manifests under knative/, as files, parsed documents, and kustomize builds."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.manifests import is_kubernetes_object, load_documents

REPO = Path(__file__).resolve().parents[2]
KNATIVE = REPO / "knative"
BASE = KNATIVE / "base"


def manifest_files() -> list[Path]:
    return sorted(KNATIVE.rglob("*.yaml"))


def documents(root: Path) -> list[dict[str, Any]]:
    return [
        d
        for p in sorted(root.rglob("*.yaml"))
        for d in load_documents(p)
        if is_kubernetes_object(d)
    ]


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize` output, parsed (offline: every resource is a local file)."""
    if shutil.which("kubectl") is None:
        pytest.fail(
            "kubectl is needed to build the kustomize overlays (scripts/system-packages.txt)"
        )
    out = subprocess.run(
        ["kubectl", "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def with_components(tmp_path: Path, components: list[str]) -> Path:
    """A throwaway overlay: production plus the named optional components."""

    def rel(path: Path) -> str:  # kustomize refuses absolute paths
        return os.path.relpath(path, tmp_path)

    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources: [{rel(KNATIVE / 'overlays/production')}]\n"
        f"components: [{', '.join(rel(KNATIVE / 'overlays' / c) for c in components)}]\n"
    )
    return tmp_path


@pytest.fixture(scope="session")
def base_docs() -> list[dict[str, Any]]:
    return documents(BASE)
