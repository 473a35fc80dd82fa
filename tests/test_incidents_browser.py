"""A real browser against a real server: a commander's SEV board is open; an agent raises a SEV-2
through the API, the commander accepts it, agents post two findings and a remediation; a responder's
board and the commander's war room show each without reload; the commander approves the remediation
in the war room and the agent blocked in ``OrchestraClient.propose`` receives the approval.

Uses the live server and Chromium of ``tests/test_browser.py`` (skipped without /usr/bin/chromium).
"""
import threading

import pytest

from incidents.models import Incident
from orchestra_client import OrchestraClient
from tests import test_browser
from tests.test_browser import CHROMIUM, CSP_LISTENER, PASSWORD, csp_violations

live_url, browser = test_browser.live_url, test_browser.browser  # the fixtures of the inbox's browser test

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (apt-get install chromium)"),
]


def sign_in(browser, base_url, username, path="/incidents/"):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base_url}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}{path}")
    page.wait_for_selector("#incident-live[data-state=live]")
    page.evaluate("window.notReloaded = true")
    return page, errors


def test_a_sev2_from_candidate_to_approved_remediation_live(live_url, browser, ines, raj, monitor_and_token,
                                                            rca_and_token):
    board, board_errors = sign_in(browser, live_url, "ines")
    watcher, watcher_errors = sign_in(browser, live_url, "raj")
    monitor = OrchestraClient(live_url, monitor_and_token[1])
    rca = OrchestraClient(live_url, rca_and_token[1])

    # 1. An agent raises a SEV-2: both boards show the candidate, with accept / decline, without reload.
    raised = monitor.report_incident("Payments error rate at 4 %", "SEV-2", resource="service:payments",
                                     symptom="error_rate_high", summary="5xx on /charge since 14:02",
                                     evidence={"error_rate": 0.04})
    row = board.locator(f'#board-rows tr[data-id="{raised["id"]}"]')
    row.wait_for()
    assert row.locator("[data-field=severity]").inner_text() == "SEV-2"
    assert row.locator("[data-field=status]").inner_text() == "Triage"
    assert row.get_by_role("button", name="Accept").is_visible()
    other_row = watcher.locator(f'#board-rows tr[data-id="{raised["id"]}"]')
    other_row.wait_for()
    assert board.evaluate("window.notReloaded") is True

    # 2. The commander accepts it from the board; the other board follows without reload.
    row.get_by_role("button", name="Accept").click()
    board.wait_for_selector(".alert.success")
    watcher.wait_for_function(
        f"""() => document.querySelector('#board-rows tr[data-id="{raised["id"]}"] [data-field=status]')
                     .textContent === 'Investigating'""")
    assert other_row.locator("[data-field=commander]").inner_text() == "ines"
    assert other_row.locator("[data-field=triage]").is_hidden()

    # 3. The commander opens the war room.
    board.goto(f"{live_url}/incidents/{raised['id']}/")
    board.wait_for_selector("#incident-live[data-state=live]")
    board.evaluate("window.notReloaded = true")
    room = board

    # 4. Two agents post findings, in parallel; the war room shows both, newest first, without reload.
    posters = [
        threading.Thread(target=rca.add_finding, args=(raised["id"], "Deploy 2026.11.4 raised the 5xx rate"),
                         kwargs={"confidence": 0.82, "question": "root_cause", "answer": "deploy 2026.11.4"}),
        threading.Thread(target=monitor.add_finding, args=(raised["id"], "About 18 % of card charges fail"),
                         kwargs={"confidence": 0.7, "question": "impact", "answer": "18 % of charges"}),
    ]
    for t in posters:
        t.start()
    for t in posters:
        t.join()
    room.locator("#timeline li.kind-finding", has_text="Deploy 2026.11.4 raised the 5xx rate").wait_for()
    room.locator("#timeline li.kind-finding", has_text="About 18 % of card charges fail").wait_for()
    watcher.wait_for_function(
        f"""() => /card charges fail|5xx rate/.test(document.querySelector(
                 '#board-rows tr[data-id="{raised["id"]}"] [data-field=last_entry]').textContent)""")

    # 5. A remediation: the agent blocks until a human decides.
    outcome = {}

    def remediate():
        try:
            outcome["decision"] = rca.propose(
                "deploy.rollback", "Roll back payments to 2026.11.3", resource="service:payments",
                args={"service": "payments", "to_version": "2026.11.3"}, risk="high", confidence=0.82,
                incident=raised["id"], wait_timeout=60)
        except Exception as e:  # reported by the assertion below
            outcome["error"] = e

    agent = threading.Thread(target=remediate, daemon=True)
    agent.start()
    remediation = room.locator("#remediations article.remediation", has_text="Roll back payments to 2026.11.3")
    remediation.wait_for()
    room.locator("#timeline li.kind-remediation").wait_for()
    watcher.wait_for_function(
        f"""() => document.querySelector('#board-rows tr[data-id="{raised["id"]}"] [data-field=pending]')
                     .textContent.trim() === '1'""")
    assert room.evaluate("window.notReloaded") is True
    assert watcher.evaluate("window.notReloaded") is True

    # 6. The commander approves it in the war room; the agent's client receives the approval.
    remediation.get_by_role("button", name="Approve").click()
    room.wait_for_selector(".alert.success")
    agent.join(timeout=60)
    assert "error" not in outcome, outcome.get("error")
    decision = outcome["decision"]
    assert decision.status == "approved" and decision.decision["decided_by"] == "ines"
    room.locator("#timeline li.kind-decision", has_text="approved by ines").wait_for()
    watcher.wait_for_function(
        f"""() => document.querySelector('#board-rows tr[data-id="{raised["id"]}"] [data-field=pending]')
                     .textContent.trim() === '0'""")
    assert watcher.evaluate("window.notReloaded") is True
    assert Incident.objects.get(pk=raised["id"]).remediations.get().outcome == "approved"
    assert board_errors == [] and watcher_errors == []
    assert csp_violations(room) == [] and csp_violations(watcher) == []
    monitor.close()
    rca.close()
