"""The bot's workflows, driven by events rather than by a waiting process.

A delivery starts a job (progress comment, `eyes` reaction, session with the built prompt);
the session's `turn.completed` event finishes it (the comment becomes the answer, the session
is deleted); the periodic tick sweeps what events cannot: timeouts, queued jobs, and
jobs whose bot process died mid-way. Every step is recorded in Redis first, so
a retried or lost event never posts twice or leaves a comment saying "Looking into it".
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import redis

from netclode.github import answers, prompt
from netclode.github.app import READ, WRITE, GitHubApp
from netclode.github.context import gather
from netclode.github.jobs import FINISHING, QUEUED, RUNNING, STARTING, Job, JobStore
from netclode.github.routing import DEPS, ISSUE, PR, REVIEW, Work, route
from netclode.github.sessions import Refused, SessionAPI, last_answer, last_error, turn_outcome
from netclode.github.settings import GitHubSettings
from netclode.store.sessions import now_ms
from netclode_protocol import keys
from netclode_protocol.v1 import common_pb2

if TYPE_CHECKING:  # PyGithub loads with the first GitHub call: see github/app.py
    from github.IssueComment import IssueComment
    from github.PullRequestComment import PullRequestComment

log = logging.getLogger(__name__)

ALLOWED_PERMISSIONS = frozenset({"admin", "write"})
NAME_REQUEST_CHARS = 50
NAME_TITLE_CHARS = 60
DEP_REVIEW_TTL_S = 90 * 24 * 3600


def _cut(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "…"


class Bot:
    def __init__(self, gh: GitHubSettings, r: redis.Redis, app: GitHubApp, api: SessionAPI) -> None:
        self.gh = gh
        self.r = r
        self.app = app
        self.api = api
        self.jobs = JobStore(r)

    # -- intake -----------------------------------------------------------------------------

    def on_delivery(self, event: str, delivery: str, payload: dict) -> None:
        job = self.jobs.get(delivery)
        if job is None:
            work = route(event, payload, self.gh)
            if work is None or not self._wanted(work, delivery):
                return
            job = self._new_job(work, delivery)
            if not self.jobs.add(job):
                return
        self._advance(job)

    def _wanted(self, work: Work, delivery: str) -> bool:
        if work.requester and not self._may_ask(work):
            log.info(
                "ignoring %s on %s#%s: no write access", work.requester, work.repo, work.number
            )
            return False
        return work.kind != DEPS or self._claim_dep_review(work, delivery)

    def _may_ask(self, work: Work) -> bool:
        from github import GithubException  # with the first GitHub call: see github/app.py

        repo = self.app.client(work.installation_id).get_repo(work.repo, lazy=True)
        try:
            permission = repo.get_collaborator_permission(work.requester)
        except GithubException as exc:
            if exc.status == 404:
                return False
            raise
        return permission in ALLOWED_PERMISSIONS

    def _claim_dep_review(self, work: Work, delivery: str) -> bool:
        """One dependency review per PR, whatever the number of deliveries asking for it."""
        marker = keys.ghbot_dep_review(work.repo, work.number)
        if not self.r.set(marker, delivery, nx=True, ex=DEP_REVIEW_TTL_S):
            return False
        issue = self.app.client(work.installation_id).get_repo(work.repo, lazy=True)
        for comment in issue.get_issue(work.number).get_comments():
            if comment.user and comment.user.login.lower() == self.gh.bot_login.lower():
                return False
        return True

    def _new_job(self, work: Work, delivery: str) -> Job:
        ctx = gather(self.app, work)
        if work.kind == DEPS:
            text, name = (
                prompt.dependency_review(ctx),
                f"Dep review: {_cut(ctx.title, NAME_TITLE_CHARS)}",
            )
        else:
            label = "Issue" if work.kind == ISSUE else "PR"
            text = prompt.mention(ctx, work.request)
            name = f"{label} #{work.number} mention: {_cut(work.request, NAME_REQUEST_CHARS)}"
        return Job(
            delivery=delivery,
            kind=work.kind,
            repo=work.repo,
            number=work.number,
            installation_id=work.installation_id,
            prompt=text,
            name=name,
            access=WRITE if work.kind == PR else READ,
            trigger_comment_id=work.trigger_comment_id,
        )

    def _advance(self, job: Job) -> None:
        """Moves a recorded job as far as it can go now; safe to repeat."""
        if job.state == QUEUED:
            self._admit(job)
        if not job.comment_id:
            self._post_progress(job, queued=job.state == QUEUED)
        if job.state == STARTING:
            self._start(job)
        elif job.state == FINISHING:
            self._publish(job)

    def _admit(self, job: Job) -> bool:
        """Gives a queued job a concurrency slot, if one is free."""
        if not self.jobs.admit(job, self.gh.max_concurrent):
            return False
        lease = now_ms() + self.gh.start_lease_s * 1000
        self.jobs.update(job, state=STARTING, lease_until=lease)
        if job.comment_id:  # it was announced as queued
            self._edit(job, answers.progress(job.delivery))
        return True

    def _post_progress(self, job: Job, queued: bool) -> None:
        issue = self._issue(job)
        comment = issue.create_comment(answers.progress(job.delivery, queued))
        self.jobs.update(job, comment_id=comment.id)
        if job.trigger_comment_id:
            self._react(job)

    def _react(self, job: Job) -> None:
        """The `eyes` reaction on the asking comment; a failure here costs nothing."""
        from github import GithubException  # with the first GitHub call: see github/app.py

        repo = self.app.client(job.installation_id).get_repo(job.repo, lazy=True)
        try:
            comment: PullRequestComment | IssueComment
            if job.kind == REVIEW:
                comment = repo.get_pull(job.number).get_review_comment(job.trigger_comment_id)
            else:
                comment = repo.get_issue(job.number).get_comment(job.trigger_comment_id)
            comment.create_reaction("eyes")
        except GithubException as exc:
            log.info("no reaction on %s#%s: HTTP %s", job.repo, job.number, exc.status)

    def _start(self, job: Job) -> None:
        """Creates the session of an admitted job (the api grants its GitHub token)."""
        if not job.session_id:
            try:
                session_id = self.api.create(job.name, job.repo, job.access, job.prompt)
            except Refused as exc:  # an outage raises on: the delivery is retried
                self._finish(job, answers.failure(job.delivery, exc.message))
                return
            deadline = now_ms() + self.gh.session_timeout_s * 1000
            self.jobs.update(job, session_id=session_id, deadline=deadline)
        self.jobs.update(job, state=RUNNING)

    # -- completion ---------------------------------------------------------------------------

    def on_turn_completed(self, data: dict) -> None:
        job = self.jobs.by_session(str(data.get("session_id", "")))
        if job is None or job.state == FINISHING:
            if job is not None:
                self._publish(job)
            return
        error = str(data.get("error") or "")
        text = str(data.get("final_answer") or "")
        if error or data.get("interrupted"):
            partial = text or last_answer(self.api.history(job.session_id))
            self._give_up(job, partial, error or "the turn was interrupted")
        else:
            self._finish(job, answers.answer(job.delivery, text))

    def _finish(self, job: Job, body: str) -> None:
        self.jobs.update(job, state=FINISHING, answer=body)
        self._publish(job)

    def _publish(self, job: Job) -> None:
        """Posts the recorded final text, deletes the session, frees the slot."""
        self._edit(job, job.answer)
        if job.session_id:
            self.api.delete(job.session_id)
        self.jobs.remove(job)
        self._drain()

    def _edit(self, job: Job, body: str) -> None:
        if job.comment_id:
            self._issue(job).get_comment(job.comment_id).edit(body)
        else:
            self._issue(job).create_comment(body)

    def _issue(self, job: Job):
        repo = self.app.client(job.installation_id).get_repo(job.repo, lazy=True)
        return repo.get_issue(job.number)

    # -- the periodic sweep --------------------------------------------------------------------

    def sweep(self) -> None:
        """Finishes, fails or starts every recorded job as its state requires."""
        for job in list(self.jobs.all()):
            try:
                self._sweep_one(job)
            except Exception:
                log.exception("sweeping GitHub job %s failed; next tick retries", job.delivery)

    def _sweep_one(self, job: Job) -> None:
        now = now_ms()
        if job.state == FINISHING:
            self._publish(job)
        elif job.state == QUEUED:
            if now > job.created_at + self.gh.session_timeout_s * 1000:
                self._finish(job, answers.failure(job.delivery, "timed out waiting for a slot"))
            else:
                self._advance(job)
        elif job.state == STARTING and not job.session_id:
            if now > job.lease_until:
                self._finish(job, answers.lost(job.delivery))
        else:
            self._check_running(job, now)

    def _check_running(self, job: Job, now: int) -> None:
        session = self.api.get(job.session_id)
        if session is None:
            self._finish(job, answers.failure(job.delivery, "the session no longer exists"))
            return
        history = self.api.history(job.session_id)
        done = turn_outcome(history)
        if done is not None:
            self.on_turn_completed(
                {
                    "session_id": job.session_id,
                    "final_answer": done.final_answer,
                    "error": done.error,
                    "interrupted": done.interrupted,
                }
            )
        elif job.deadline and now > job.deadline:
            reason = f"no answer within {self.gh.session_timeout_s} s"
            self._give_up(job, last_answer(history), reason)
        elif session.status == common_pb2.SESSION_STATUS_ERROR:
            self._give_up(job, last_answer(history), last_error(history) or "the session failed")

    def _give_up(self, job: Job, partial: str, reason: str) -> None:
        body = (
            answers.partial(job.delivery, partial, reason)
            if partial
            else answers.failure(job.delivery, reason)
        )
        self._finish(job, body)

    def _drain(self) -> None:
        """Starts queued jobs while slots are free (oldest first)."""
        for job in list(self.jobs.all()):
            if job.state != QUEUED:
                continue
            if not self._admit(job):
                return
            self._start(job)
