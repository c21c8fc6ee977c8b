"""The image workflow passes actionlint and builds what the deployment runs, tagged as the
rollout targets and Ansible expect."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github/workflows").glob("*.y*ml"))
IMAGES = REPO / ".github/workflows/images.yaml"
ACTIONLINT = Path(sys.executable).parent / "actionlint"


def _actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    assert ACTIONLINT.is_file(), "actionlint comes with the dev dependencies (make setup-dev)"
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", *map(str, paths)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_workflow_passes_actionlint() -> None:
    assert IMAGES in WORKFLOWS
    result = _actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github/workflows/images.yaml"
    broken.parent.mkdir(parents=True)
    shutil.copy(IMAGES, broken)
    broken.write_text(
        broken.read_text().replace("steps.image.outputs.ref", "steps.image.output.ref")
    )
    result = _actionlint(broken)
    assert result.returncode == 1
    assert "output" in result.stdout


def test_workflow_builds_the_images_ansible_deploys() -> None:
    workflow = yaml.safe_load(IMAGES.read_text())
    matrix = workflow["jobs"]["build"]["strategy"]["matrix"]["image"]
    built = {(i["name"], i["containerfile"]) for i in matrix}
    defaults = yaml.safe_load((REPO / "ansible/roles/netclode/defaults/main.yaml").read_text())
    deployed = {(i["name"], i["containerfile"]) for i in defaults["netclode_images"]}
    assert built == deployed
    for _, containerfile in built:
        assert (REPO / containerfile).is_file()


def test_tags_are_the_commit_as_rollouts_and_ansible_name_it() -> None:
    text = IMAGES.read_text()
    assert ":${GITHUB_SHA::12}" in text
    assert "--short=12 HEAD" in (REPO / "mk/deploy.mk").read_text()
    assert "--short=12 HEAD" in (REPO / "ansible/roles/netclode/defaults/main.yaml").read_text()
    # Immutable: the push step only runs when the tag is not in the registry yet.
    push = next(
        s
        for s in yaml.safe_load(text)["jobs"]["build"]["steps"]
        if str(s.get("uses", "")).startswith("docker/build-push-action")
    )
    assert push["if"] == "steps.existing.outputs.present == 'false'"
