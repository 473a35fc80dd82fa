"""A real browser against a real server: a reviewer sees a proposal arrive live and approves it, and
the agent blocked in ``OrchestraClient.propose`` gets the decision.

- The server is uvicorn running ``orchestra_site.asgi:application`` in a thread of this process, on
  a free port, against the test database (a SQLite file, so every thread sees the same data;
  ``transactional_db`` because the server's threads must see committed rows).
- The browser is Debian's Chromium driven by Playwright's sync API (``playwright install`` cannot
  download browsers here). Skipped when /usr/bin/chromium is missing.
"""
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from orchestra_client import OrchestraClient
from tests.factories import UserFactory

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run",
    "--disable-component-update", "--disable-sync",
]
PASSWORD = "pw-for-tests-1"  # UserFactory's

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (apt-get install chromium)"),
]


@pytest.fixture
def live_url(transactional_db):
    """Base URL of uvicorn serving the whole ASGI app (HTTP and WebSockets) from a thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(
        "orchestra_site.asgi:application", lifespan="off", log_level="warning", ws_ping_interval=None,
    ))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread, so Django refuses ORM calls made
    # here afterwards ("You cannot call this from an async context"), although they are plain
    # blocking calls with no loop of ours involved. Allowed for this test only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


# Every page of a signed-in context records Content-Security-Policy violations (the policy of
# orchestra_site/settings.py: scripts, styles and connections from this origin only).
CSP_LISTENER = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def csp_violations(page):
    return page.evaluate("window.cspViolations")


def sign_in(browser, base_url, username):
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    login_page = page.goto(f"{base_url}/inboxes/platform-reviewers/")
    assert "script-src 'self';" in login_page.headers["content-security-policy"] + ";"
    assert "/accounts/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/inboxes/platform-reviewers/")
    page.wait_for_selector("#live-status[data-state=live]")  # the inbox socket is open
    page.evaluate("window.notReloaded = true")
    return page, errors


def test_reviewer_approves_a_live_proposal_and_the_agent_gets_the_decision(
    live_url, browser, alice, platform_inbox, agent_and_token,
):
    carol = UserFactory(username="carol")
    carol.groups.add(platform_inbox.reviewers)
    alice_page, alice_errors = sign_in(browser, live_url, "alice")
    carol_page, carol_errors = sign_in(browser, live_url, "carol")
    assert alice_page.locator("#queue-empty").is_visible()

    outcome = {}

    def agent_proposes():
        with OrchestraClient(live_url, agent_and_token[1]) as client:
            try:
                outcome["decision"] = client.propose(
                    action="deploy.scale", summary="Scale checkout to 12 replicas for the sale",
                    resource="service:checkout", args={"service": "checkout", "replicas": 12},
                    risk="low", confidence=0.93, cost_usd="1.20", wait_timeout=60,
                )
            except Exception as e:  # reported by the assertion below
                outcome["error"] = e

    agent = threading.Thread(target=agent_proposes, daemon=True)
    agent.start()

    # The proposal appears at the top of both open pages, without a reload.
    row = alice_page.locator("#queue-rows tr[data-id]", has_text="Scale checkout to 12 replicas")
    row.wait_for()
    carol_row = carol_page.locator("#queue-rows tr[data-id]", has_text="Scale checkout to 12 replicas")
    carol_row.wait_for()
    assert alice_page.evaluate("window.notReloaded") is True
    assert row.locator("[data-field=risk]").inner_text().lower() == "low"
    assert row.locator("[data-field=confidence]").inner_text() == "93%"
    assert alice_page.locator(f'[data-count-for="{platform_inbox.pk}"]').first.inner_text() == "1"
    assert alice_page.title().startswith("(1) Platform reviewers")

    # Carol also has the proposal itself open (a second tab).
    carol_detail = carol_page.context.new_page()
    carol_detail.goto(f"{live_url}/proposals/{row.get_attribute('data-id')}/")
    carol_detail.wait_for_selector("#live-status[data-state=live]")
    assert carol_detail.locator("#decide button[value=approve]").is_enabled()

    row.get_by_role("button", name="Approve").click()
    alice_page.wait_for_selector(".alert.success")
    assert "Approved" in alice_page.locator(".alert.success").inner_text()

    agent.join(timeout=60)
    assert "error" not in outcome, outcome.get("error")
    decision = outcome["decision"]
    assert decision.status == "approved"
    assert decision.decision["decided_by"] == "alice"

    # The other reviewer's page says who decided, then the row leaves; the count drops.
    carol_page.locator("#queue-rows td.note", has_text="Approved by alice").wait_for()
    carol_page.wait_for_function("() => !document.querySelector('#queue-rows tr[data-id]')")
    assert carol_page.locator("#queue-empty").is_visible()
    assert carol_page.locator(f'[data-count-for="{platform_inbox.pk}"]').first.inner_text() == "0"
    assert carol_page.evaluate("window.notReloaded") is True
    # … and her proposal tab shows the decision and disables her form.
    assert "Approved by alice" in carol_detail.locator("#live-decided").inner_text()
    assert carol_detail.locator("#proposal-status").inner_text() == "Approved"
    assert carol_detail.locator("#decide button[value=approve]").is_disabled()
    assert alice_errors == [] and carol_errors == []
    # The live updates above (WebSocket, new rows from the template, counts) broke no CSP rule.
    assert csp_violations(alice_page) == [] and csp_violations(carol_page) == [] and csp_violations(carol_detail) == []
