"""The web app in headless Chromium against one real local stack, a scripted LLM playing
its Ollama server (see ollama_standin) and a GitHub stand-in whose personal token the stack
is configured with (the new-session form lists the repos it reaches)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.github_standin import GitHubStandIn
from tests.support.scripted_llm import ScriptedLLM
from tests.support.stack import Client, Stack, start, stop

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
PHONE = {"width": 390, "height": 844}
GITHUB_TOKEN = "ghp_webAppTestToken0123456789abcdef"
GITHUB_REPOS = {"acme/site": False, "acme/secret-plans": True}  # name -> private
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubStandIn]:
    gh = GitHubStandIn()
    for name, private in GITHUB_REPOS.items():
        gh.add_repo(name, private=private)
    gh.add_personal_token(GITHUB_TOKEN, list(GITHUB_REPOS))
    yield gh
    gh.stop()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM, github: GitHubStandIn
) -> Iterator[Stack]:
    # No provider key: the only models to pick are Ollama's; the rest show what they need.
    env = {
        "OLLAMA_URL": llm.ollama_url,
        "NETCLODE_GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": GITHUB_TOKEN,
    }
    running = start(tmp_path_factory.mktemp("web-stack"), env, keys={})
    yield running
    stop(running)


@pytest.fixture
def api(stack: Stack) -> Client:
    return stack.client()


@pytest.fixture(autouse=True)
def fresh_script(llm: ScriptedLLM) -> None:
    """Each test queues its own model replies."""
    llm.script.clear()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One browser for the web suite, closed before any other suite runs in this process:
    Playwright's sync API keeps an asyncio loop running on this thread while it is open,
    and pytest-asyncio cannot run an async test (tests/secretproxy) under a running loop."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install the `chromium` system package")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser: Browser, stack: Stack, viewport: dict[str, int]) -> Page:
    """A fresh browser context (its own sessionStorage) on the app's sign-in screen."""
    context = browser.new_context(viewport=viewport, base_url=stack.api_url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/")
    return page


def sign_in(page: Page, token: str) -> None:
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Sessions").wait_for()


@pytest.fixture
def phone(browser: Browser, stack: Stack) -> Iterator[Page]:
    page = open_page(browser, stack, PHONE)
    sign_in(page, stack.admin_token)
    yield page
    page.context.close()


@pytest.fixture
def desktop(browser: Browser, stack: Stack) -> Iterator[Page]:
    page = open_page(browser, stack, DESKTOP)
    sign_in(page, stack.admin_token)
    yield page
    page.context.close()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
