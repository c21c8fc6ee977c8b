"""Every playbook parses, and the whole tree meets ansible-lint's production profile."""

from __future__ import annotations

import pytest

from tests.ansible.conftest import ANSIBLE_DIR, run_ansible

PLAYBOOKS = sorted(p.name for p in (ANSIBLE_DIR / "playbooks").glob("*.yaml"))


def test_the_four_playbooks_exist() -> None:
    assert set(PLAYBOOKS) >= {"site.yaml", "k8s-only.yaml", "fetch-kubeconfig.yaml", "secrets.yaml"}


def test_syntax_check_with_the_default_inventory(ansible_env: dict[str, str]) -> None:
    # No -i: ansible.cfg's inventory reads DEPLOY_HOST, as in `DEPLOY_HOST=x ansible-playbook ...`.
    paths = [f"playbooks/{p}" for p in PLAYBOOKS]
    result = run_ansible(ansible_env, "ansible-playbook", "--syntax-check", *paths)
    assert result.rc == 0, result.output
    for path in paths:
        assert f"playbook: {path}" in result.output


def test_inventory_takes_the_host_from_deploy_host(ansible_env: dict[str, str]) -> None:
    env = {**ansible_env, "DEPLOY_HOST": "203.0.113.7"}
    # debug runs on the controller: nothing is contacted, the inventory is only templated.
    result = run_ansible(
        env, "ansible", "netclode", "-m", "ansible.builtin.debug", "-a", "var=ansible_host"
    )
    assert result.rc == 0, result.output
    assert '"ansible_host": "203.0.113.7"' in result.output


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_ansible_lint_production_profile_is_clean(ansible_env: dict[str, str]) -> None:
    result = run_ansible(ansible_env, "ansible-lint", "--offline", "--nocolor", "-q", timeout=300)
    assert result.rc == 0, result.output[-4000:]
