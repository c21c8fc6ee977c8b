"""The initial prompts of the bot's sessions: a mention, or a dependency review."""

from __future__ import annotations

from netclode.github.context import Context

OUTPUT_RULES = (
    "- Your text output IS the GitHub comment: write GitHub-flavoured markdown, be concise, "
    "and do not repeat these instructions."
)


def _describe(ctx: Context) -> list[str]:
    what = "pull request" if ctx.is_pr else "issue"
    lines = [
        f"## Repository\n{ctx.repo}",
        f"## {what.title()} #{ctx.number}: {ctx.title}\nOpened by {ctx.author or 'unknown'}.",
        ctx.body.strip() or "(no description)",
    ]
    if ctx.labels:
        lines.append("Labels: " + ", ".join(ctx.labels))
    if ctx.is_pr:
        lines.append(f"## Branch\n{ctx.branch}")
        note = "\n(The diff was cut at 50,000 bytes; read the rest in the repository.)"
        lines.append(f"## Diff\n```diff\n{ctx.diff}```" + (note if ctx.diff_truncated else ""))
    if ctx.comments:
        thread = "\n\n".join(f"**{author}**: {body}" for author, body in ctx.comments)
        lines.append(f"## Comment Thread (last {len(ctx.comments)} messages)\n{thread}")
    return lines


def mention(ctx: Context, request: str) -> str:
    what = "pull request" if ctx.is_pr else "issue"
    rules = [
        "- Work without asking clarifying questions; use your best judgment.",
        "- Make the code changes or the review that is asked for; you may add, commit and push.",
        "- You may check CI with `gh run list --branch` and `gh run view`, and search the web.",
        OUTPUT_RULES,
    ]
    if ctx.is_pr:
        checkout = f"git fetch origin {ctx.branch} && git checkout {ctx.branch}"
        rules.insert(0, f"- Check out the PR branch first: `{checkout}`.")
    parts = [
        f"You were mentioned on a GitHub {what}. Read the context and do what is asked.",
        *_describe(ctx),
        f"## User Request\n{request or '(no text besides the mention: summarise and help)'}",
        "## Rules\n" + "\n".join(rules),
    ]
    return "\n\n".join(parts)


def dependency_review(ctx: Context) -> str:
    steps = [
        "1. Identify the dependency, the old and new versions, and the bump type.",
        "2. Diff the dependency's source between the old and new tags, covering every "
        "intermediate version (changelogs, release notes, code). List breaking changes for "
        "major bumps; treat transitive dependencies in lockfile diffs just as rigorously.",
        "3. Trace every usage site in this codebase (files, functions, line numbers), "
        "including usages of changed transitive dependencies.",
        "4. Check CI with `gh run list --branch`, or run the tests locally; write targeted "
        "experiments where the changes are risky.",
        "5. Give a verdict: **Safe to merge**, **Needs review** or **Issues found**, with the "
        "evidence. Your access is read-only: describe fixes rather than pushing them.",
    ]
    parts = [
        "Review this dependency update pull request.",
        *_describe(ctx),
        "## Steps\n" + "\n".join(steps),
        "## Rules\n- Read the code, not only the changelogs.\n" + OUTPUT_RULES,
    ]
    return "\n\n".join(parts)
