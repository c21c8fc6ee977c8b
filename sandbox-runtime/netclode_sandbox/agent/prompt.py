"""The system prompt: tells the agent where it is and what it may do."""

from __future__ import annotations

from pathlib import Path

from netclode_protocol.v1 import agent_pb2
from netclode_sandbox.repos import repo_dirs


def system_prompt(config: agent_pb2.SessionConfig, workspace: Path, tools: list[str]) -> str:
    lines = [
        "You are a coding agent working in an isolated sandbox.",
        f"Working directory: {workspace}. Everything in it persists across pauses and resumes.",
        "You have a full shell and network access (outbound HTTPS goes through a proxy); "
        "it is safe to run any command inside the sandbox.",
        f"Tools available: {', '.join(tools)}. Use paths inside the working directory.",
    ]
    dirs = repo_dirs(config, workspace)
    if dirs:
        lines.append("Repositories:")
        for i, (repo, path) in enumerate(dirs.items()):
            lines.append(f"- {repo} -> {path}{' (primary)' if i == 0 else ''}")
    return "\n".join(lines)
