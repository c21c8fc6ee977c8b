"""The web app's flows in headless Chromium, on a phone and a desktop viewport."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from netclode_protocol.v1 import api_pb2
from tests.support.inside import until
from tests.support.scripted_llm import OLLAMA_MODEL, Reply, ScriptedLLM, text, tool
from tests.support.stack import Client, Stack
from tests.web.conftest import PHONE, open_page, screenshot

AGENT_TIMEOUT_MS = 30_000


def new_session(page: Page, name: str) -> None:
    """Creates a session from the form and waits for its sandbox."""
    page.get_by_role("button", name="New session").click()
    page.get_by_label("Name").fill(name)
    expect(page.get_by_label("Model")).to_have_value(OLLAMA_MODEL)
    page.get_by_role("button", name="Create session").click()
    expect(page.get_by_test_id("status")).to_have_text("ready", timeout=AGENT_TIMEOUT_MS)


def send(page: Page, prompt: str) -> None:
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_role("button", name="Send").click()


def assistant(page: Page, answer: str) -> Locator:
    return page.locator(".msg-assistant", has_text=answer)


def test_sign_in_rejects_a_bad_token_and_keeps_the_good_one_out_of_the_url(
    browser: Browser, stack: Stack
) -> None:
    page = open_page(browser, stack, PHONE)
    page.get_by_label("API token").fill("ncp_not-a-real-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That token is not valid.")
    page.get_by_label("API token").fill(stack.admin_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sessions")).to_be_visible()
    assert stack.admin_token not in page.url
    assert page.evaluate("Object.keys(localStorage).length") == 0
    page.reload()  # the same tab stays signed in
    expect(page.get_by_role("heading", name="Sessions")).to_be_visible()
    page.context.close()


def test_prompt_streams_the_answer_with_tool_cards_on_a_phone(
    phone: Page, llm: ScriptedLLM, api: Client
) -> None:
    answer = "I listed the workspace for you and everything looks tidy."
    # The stall keeps the answer half-streamed long enough to see it stream on a busy machine.
    llm.push(tool("Bash", {"command": "echo from-the-tool"}), text(answer, stall=2.0))
    new_session(phone, "phone-session")
    send(phone, "What is in the workspace?")

    expect(phone.locator(".msg-user", has_text="What is in the workspace?")).to_have_count(1)
    card = phone.get_by_test_id("tool-card")
    expect(card).to_have_attribute("data-state", "ok", timeout=AGENT_TIMEOUT_MS)
    expect(card).to_contain_text("Bash")
    card.locator("summary").click()
    expect(card).to_contain_text("echo from-the-tool")
    expect(card).to_contain_text("from-the-tool")
    # The answer streams in (partial) before it is final.
    expect(phone.locator(".msg-assistant.streaming")).to_have_count(1, timeout=AGENT_TIMEOUT_MS)
    expect(assistant(phone, answer)).to_have_attribute(
        "data-final", "true", timeout=AGENT_TIMEOUT_MS
    )
    expect(assistant(phone, answer)).to_have_count(1)
    expect(phone.get_by_text("Turn complete")).to_be_visible()
    expect(phone.get_by_test_id("status")).to_have_text("ready")
    screenshot(phone, "phone-session")

    phone.get_by_role("link", name="All sessions").click()
    # After its first turn the session is renamed to the title the model suggested.
    row = phone.locator(".sessions li", has_text="Scripted session title")
    expect(row).to_contain_text("ready")
    screenshot(phone, "phone-sessions-list")


def turn_over(api: Client, name: str, timeout: float = 60.0) -> None:
    """Until the turn of the session named `name` has completed on the server."""
    listed = api(api.sessions.list_sessions, api_pb2.ListSessionsRequest()).sessions
    session_id = next(s.session.id for s in listed if s.session.name == name)

    def completed() -> bool:
        return any(e.event.HasField("turn_completed") for e in api.entries(session_id).entries)

    until(f"the turn of {name} completed", completed, timeout)


def test_a_network_drop_mid_answer_ends_with_the_answer_shown_once(
    desktop: Page, llm: ScriptedLLM, api: Client
) -> None:
    answer = "This answer survives a dropped connection, exactly once, start to finish."
    llm.push(text(answer, stall=2.0))
    new_session(desktop, "drop-session")
    send(desktop, "Tell me something durable")
    expect(desktop.locator(".msg-assistant.streaming")).to_have_count(1, timeout=AGENT_TIMEOUT_MS)

    desktop.context.set_offline(True)
    expect(desktop.get_by_role("status")).to_contain_text("Offline")
    turn_over(api, "drop-session")  # the answer finishes on the server while the browser is away
    desktop.context.set_offline(False)

    final = assistant(desktop, answer)
    expect(final).to_have_attribute("data-final", "true", timeout=AGENT_TIMEOUT_MS)
    expect(desktop.locator(".msg-assistant")).to_have_count(1)
    expect(desktop.locator(".msg-user")).to_have_count(1)
    expect(desktop.get_by_text("Turn complete")).to_have_count(1)
    screenshot(desktop, "desktop-after-network-drop")


def test_interrupt_stops_a_running_turn(desktop: Page, llm: ScriptedLLM) -> None:
    llm.push(Reply(text="This turn takes far too long to finish.", stall=60.0))
    new_session(desktop, "interrupt-session")
    send(desktop, "Take your time")
    interrupt = desktop.get_by_role("button", name="Interrupt")
    expect(interrupt).to_be_enabled(timeout=AGENT_TIMEOUT_MS)
    expect(desktop.locator(".msg-assistant.streaming")).to_have_count(1, timeout=AGENT_TIMEOUT_MS)
    interrupt.click()
    expect(desktop.get_by_text("Turn interrupted")).to_be_visible(timeout=AGENT_TIMEOUT_MS)
    expect(interrupt).to_be_disabled()


def test_terminal_pause_resume_and_snapshots_on_a_desktop(desktop: Page, llm: ScriptedLLM) -> None:
    new_session(desktop, "desktop-session")

    desktop.get_by_role("tab", name="Terminal").click()
    terminal = desktop.get_by_test_id("terminal")
    terminal.click()
    desktop.keyboard.type("echo web-$((6*7))\n")
    expect(terminal.locator(".xterm-rows")).to_contain_text("web-42")
    screenshot(desktop, "desktop-terminal")

    desktop.get_by_role("button", name="Pause").click()
    expect(desktop.get_by_test_id("status")).to_have_text("paused", timeout=AGENT_TIMEOUT_MS)
    desktop.get_by_role("button", name="Resume").click()
    expect(desktop.get_by_test_id("status")).to_have_text("ready", timeout=AGENT_TIMEOUT_MS)

    desktop.get_by_role("tab", name="Snapshots").click()
    llm.push(text("First answer, kept by the snapshot."))
    send(desktop, "first")
    expect(desktop.get_by_text("Turn complete")).to_be_visible(timeout=AGENT_TIMEOUT_MS)
    desktop.get_by_role("button", name="Refresh").click()
    restore = desktop.get_by_role("button", name="Restore").first
    expect(restore).to_be_visible(timeout=AGENT_TIMEOUT_MS)
    llm.push(text("Second answer, rolled back."))
    send(desktop, "second")
    expect(assistant(desktop, "Second answer")).to_have_count(1, timeout=AGENT_TIMEOUT_MS)
    desktop.once("dialog", lambda d: d.accept())
    restore.click()
    expect(assistant(desktop, "First answer")).to_have_count(1, timeout=AGENT_TIMEOUT_MS)
    expect(assistant(desktop, "Second answer")).to_have_count(0)
    screenshot(desktop, "desktop-after-restore")


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_new_session_form_offers_the_available_models_and_marks_the_rest(
    request: pytest.FixtureRequest, viewport: str
) -> None:
    page: Page = request.getfixturevalue(viewport)
    page.get_by_role("button", name="New session").click()
    model = page.get_by_label("Model")
    expect(model).to_have_value(OLLAMA_MODEL)
    needs = model.locator(
        "option", has_text="Claude Sonnet 4.5 (anthropic) — needs ANTHROPIC_API_KEY"
    )
    expect(needs).to_be_disabled()
    page.get_by_label("Agent", exact=True).select_option(label="Claude Agent SDK")
    expect(model).to_contain_text("No model available for this agent")
    expect(
        page.get_by_text("add ANTHROPIC_API_KEY to ~/.config/netclode/secrets.env")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Create session")).to_be_disabled()
    screenshot(page, f"{viewport}-new-session")


def test_each_agent_lists_its_own_models_and_what_unlocks_the_rest(desktop: Page) -> None:
    desktop.get_by_role("button", name="New session").click()
    agent, model = desktop.get_by_label("Agent", exact=True), desktop.get_by_label("Model")
    expect(agent.locator("option")).to_have_text(
        ["Claude Agent SDK", "Native agent", "OpenCode", "GitHub Copilot", "Codex"]
    )
    agent.select_option(label="OpenCode")
    expect(model).to_have_value("opencode/gpt-5-nano")  # Zen's free tier needs no key
    paid = model.locator("option", has_text="(opencode) — needs OPENCODE_API_KEY")
    expect(paid.first).to_be_disabled()
    expect(model.locator("option", has_text=OLLAMA_MODEL.removeprefix("ollama/"))).to_be_enabled()
    agent.select_option(label="Codex")
    expect(model).to_contain_text("No model available for this agent")
    expect(model.locator("option", has_text="(ChatGPT sign-in, High)").first).to_be_disabled()
    expect(
        desktop.get_by_text("add OPENAI_API_KEY to ~/.config/netclode/secrets.env")
    ).to_be_visible()
    expect(desktop.get_by_text("once you run netclode auth codex")).to_be_visible()
    screenshot(desktop, "desktop-new-session-codex")


def test_size_picker_offers_sizes_within_the_limits_and_creates_that_size(
    desktop: Page, api: Client
) -> None:
    limits = api(api.sessions.get_resource_limits, api_pb2.GetResourceLimitsRequest())
    desktop.get_by_role("button", name="New session").click()
    cpus, memory = desktop.get_by_label("vCPUs"), desktop.get_by_label("Memory")
    expect(cpus).to_be_enabled()
    assert cpus.locator("option").all_inner_texts() == [f"Default ({limits.default_vcpus})"] + [
        str(n) for n in (1, 2, 4, 8, 16, 32) if n <= limits.max_vcpus
    ]
    gib = [mb for mb in (1024, 2048, 4096, 8192, 16384, 32768, 65536) if mb <= limits.max_memory_mb]
    default = f"Default ({limits.default_memory_mb / 1024:g} GiB)"
    assert memory.locator("option").all_inner_texts() == [default] + [
        f"{mb // 1024} GiB" for mb in gib
    ]
    desktop.get_by_label("Name").fill("sized from the web")
    cpus.select_option(label="1")
    memory.select_option(label="1 GiB")
    expect(desktop.get_by_label("Model")).to_have_value(OLLAMA_MODEL)
    screenshot(desktop, "desktop-new-session-sized")
    desktop.get_by_role("button", name="Create session").click()
    desktop.wait_for_url("**/s/*")
    session_id = desktop.url.rsplit("/", 1)[1]
    created = api.get(session_id)
    assert created.name == "sized from the web"
    assert (created.resources.vcpus, created.resources.memory_mb) == (1, 1024)
    api(api.sessions.delete_session, api_pb2.DeleteSessionRequest(session_id=session_id))


def test_new_session_form_picks_repos_from_github(desktop: Page) -> None:
    desktop.get_by_role("button", name="New session").click()
    picker = desktop.get_by_role("group", name="Your GitHub repositories")
    site = picker.get_by_role("button", name="acme/site", exact=True)
    expect(picker.get_by_role("button", name="acme/secret-plans (private)")).to_be_visible()
    site.click()
    expect(site).to_have_attribute("aria-pressed", "true")
    expect(desktop.get_by_role("textbox", name="Repositories")).to_have_value("acme/site")
    site.click()
    expect(site).to_have_attribute("aria-pressed", "false")
    expect(desktop.get_by_role("textbox", name="Repositories")).to_have_value("")


def test_a_repo_is_added_to_a_running_session(desktop: Page) -> None:
    new_session(desktop, "repo-session")
    desktop.once("dialog", lambda dialog: dialog.accept("acme/site"))
    desktop.get_by_role("button", name="Add repo").click()
    expect(desktop.locator(".session-meta")).to_contain_text("acme/site")
