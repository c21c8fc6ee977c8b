"""Copilot status: whose Copilot token the proxy holds, and its premium-request quota.

Asked of GitHub as the Copilot CLI does (`GET {api}/copilot_internal/user` with the token);
only the proxy holds the token, so only the proxy can ask. Quota comes from
quota_snapshots.premium_interactions: used = entitlement - remaining; none when unlimited.
"""

from __future__ import annotations

from typing import Any

import httpx

HTTP_TIMEOUT_S = 10.0


def summary(user: dict[str, Any]) -> dict[str, Any]:
    """The non-secret status from GitHub's answer."""
    out: dict[str, Any] = {
        "signed_in": True,
        "login": str(user.get("login") or ""),
        "plan": str(user.get("copilot_plan") or ""),
        "reset_date": str(user.get("quota_reset_date") or ""),
    }
    premium = (user.get("quota_snapshots") or {}).get("premium_interactions") or {}
    if premium and not premium.get("unlimited"):
        entitlement = int(premium.get("entitlement") or 0)
        remaining = int(premium.get("remaining") or 0)
        out |= {
            "has_quota": True,
            "entitlement": entitlement,
            "remaining": remaining,
            "used": max(entitlement - remaining, 0),
        }
    return out


async def status(token: str, api_url: str) -> dict[str, Any]:
    if not token:
        return {"signed_in": False, "error": "GITHUB_COPILOT_TOKEN is not configured"}
    headers = {"Authorization": f"token {token}", "Accept": "application/json"}
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, trust_env=False) as client:
            resp = await client.get(f"{api_url.rstrip('/')}/copilot_internal/user", headers=headers)
    except httpx.HTTPError as e:
        return {"signed_in": False, "error": f"GitHub unreachable ({type(e).__name__})"}
    if resp.status_code != 200:
        return {
            "signed_in": False,
            "error": f"GitHub refused the Copilot token ({resp.status_code})",
        }
    return summary(resp.json())
