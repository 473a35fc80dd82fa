"""Real-browser checks of the reviewer's pages at a laptop's width (1366 px) and a phone's (390 px):
no horizontal scrolling (``document.documentElement.scrollWidth`` within the viewport), the decision
panel usable on a phone, and an accessibility check (axe-core, bundled by ``axe-playwright-python``,
injected into the page) with no serious or critical violation.

Screenshots go to ``$ORCHESTRA_SCREENSHOTS`` when set (else the test's tmp dir), to be looked at.
Same live server and Chromium as ``tests/test_browser.py``; skipped without Chromium."""
import json
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission

from governance import services as governance_services
from inbox import services
from tests.conftest import PROPOSAL
from tests.factories import PolicyFactory, UserFactory
from tests.test_browser import CHROMIUM, PASSWORD, browser, live_url  # noqa: F401  (fixtures)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (apt-get install chromium)"),
]
WIDTHS = {"phone": 390, "laptop": 1366}
LONG_ARGS = {"service": "payments-api-gateway-europe-west", "to_version": "2026.11.3-hotfix.2+build.4471",
             "reason": "Error rate rose from 0.1% to 4% after the last deploy; roll back before the sale starts."}


@pytest.fixture
def world(transactional_db, platform_inbox, agent_and_token):
    """alice: a Platform reviewer who may also read the audit trail. A quorum-of-two proposal with long
    args, a few more in the queue, and one frozen by the kill switch."""
    alice = UserFactory(username="alice")
    alice.groups.add(platform_inbox.reviewers)
    alice.user_permissions.add(Permission.objects.get(codename="audit"))
    agent = agent_and_token[0]
    PolicyFactory(name="Two for rollbacks", action_pattern="deploy.rollback", quorum=2)
    main = services.proposal_submit(agent=agent, data=dict(
        PROPOSAL, risk="high", args=LONG_ARGS, resource="service:payments-api-gateway-europe-west"))[0]
    for i, risk in enumerate(["low", "medium", "critical"]):
        services.proposal_submit(agent=agent, data=dict(
            PROPOSAL, action="service.restart", risk=risk, args={"service": f"checkout-{i}"},
            resource=f"service:checkout-{i}", summary=f"Restart checkout-{i}: memory climbing past 90% for 20 min"))
    held = governance_services.agent_create(name="held-bot", domain=platform_inbox.domain)[0]
    frozen = services.proposal_submit(agent=held, data=dict(PROPOSAL, risk="low", resource="service:search"))[0]
    services.agent_suspend(agent=held, by=alice, reason="Runaway retry loop.")
    return {"alice": alice, "main": main, "frozen": frozen, "inbox": platform_inbox}


def signed_in(browser, base_url, width: int, username: str = "alice"):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 860 if width > 500 else 844},
                                  device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
    return page


def shot(page, name: str, tmp_path: Path) -> Path:
    folder = Path(os.environ.get("ORCHESTRA_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def overflow(page) -> dict:
    """How wide the document is against the viewport, and the widest elements sticking out."""
    return page.evaluate("""() => {
        const w = document.documentElement.clientWidth;
        const out = [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > w + 1 && e.offsetParent !== null
                     && getComputedStyle(e).position !== 'fixed')
            .slice(0, 5)
            .map((e) => `${e.tagName.toLowerCase()}.${e.className} → ${Math.round(e.getBoundingClientRect().right)}`);
        return {scrollWidth: document.documentElement.scrollWidth, width: w, out};
    }""")


def page_paths(world) -> dict:
    return {
        "inbox": f"/inboxes/{world['inbox'].slug}/",
        "proposal": f"/proposals/{world['main'].pk}/",
        "frozen": f"/proposals/{world['frozen'].pk}/",
    }


@pytest.mark.parametrize("device", list(WIDTHS))
def test_pages_fit_the_width_without_horizontal_scrolling(live_url, browser, world, device, tmp_path):  # noqa: F811
    width = WIDTHS[device]
    page = signed_in(browser, live_url, width)
    for name, path in {"home": "/", **page_paths(world), "audit": "/audit/"}.items():
        page.goto(live_url + path)
        page.wait_for_load_state("networkidle")
        shot(page, f"{name}-{width}", tmp_path)
        measured = overflow(page)
        assert measured["scrollWidth"] <= width, (name, measured)


def test_the_decision_panel_works_on_a_phone(live_url, browser, world, tmp_path):  # noqa: F811
    page = signed_in(browser, live_url, WIDTHS["phone"])
    page.goto(f"{live_url}/proposals/{world['main'].pk}/")
    panel = page.locator("#decide")
    panel.scroll_into_view_if_needed()
    assert "0 of 2 approvals" in panel.locator("#decide-tally").inner_text()
    approve = panel.locator("button[value=approve]")
    box = approve.bounding_box()
    assert box["height"] >= 40 and box["x"] >= 0 and box["x"] + box["width"] <= WIDTHS["phone"]  # a thumb's target
    page.locator("summary[data-shortcut=e]").click()  # the edit area opens within the width
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS["phone"]
    shot(page, "proposal-edit-open-390", tmp_path)
    approve.click()
    page.wait_for_url(f"{live_url}/inboxes/{world['inbox'].slug}/")
    assert "stays pending until another reviewer approves it" in page.locator(".alert.success").inner_text()


def test_a_frozen_proposal_offers_no_approve_on_a_phone(live_url, browser, world):  # noqa: F811
    page = signed_in(browser, live_url, WIDTHS["phone"])
    page.goto(f"{live_url}/proposals/{world['frozen'].pk}/")
    assert page.locator("#decide-blocked").inner_text().startswith("Frozen by the kill switch until agent held-bot")
    assert page.locator("button[value=approve]").count() == 0


# --- accessibility ---------------------------------------------------------------------------------

SERIOUS = {"serious", "critical"}


def axe_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
            for v in results.response["violations"] if v["impact"] in SERIOUS]


@pytest.mark.parametrize("device", list(WIDTHS))
def test_main_pages_have_no_serious_accessibility_violations(live_url, browser, world, device, tmp_path):  # noqa: F811
    width = WIDTHS[device]
    anonymous = browser.new_context(viewport={"width": width, "height": 860}).new_page()
    anonymous.goto(f"{live_url}/accounts/login/")
    found = {"login": axe_violations(anonymous)}
    page = signed_in(browser, live_url, width)
    for name, path in {"home": "/", **page_paths(world), "audit": "/audit/", "incidents": "/incidents/"}.items():
        page.goto(live_url + path)
        page.wait_for_load_state("networkidle")
        found[name] = axe_violations(page)
    folder = Path(os.environ.get("ORCHESTRA_SCREENSHOTS") or tmp_path)
    (folder / f"axe-{width}.json").write_text(json.dumps(found, indent=1))
    assert {name: v for name, v in found.items() if v} == {}


def test_a_row_loses_its_approve_button_when_its_agent_is_frozen_live(live_url, browser, world):  # noqa: F811
    """Suspending deploy-bot on the kill-switch page (another user, another page) freezes its pending
    proposals; alice's open inbox hides their Approve buttons at once, without a reload."""
    UserFactory(username="root", is_staff=True, is_superuser=True)
    alice = signed_in(browser, live_url, WIDTHS["laptop"])
    alice.goto(f"{live_url}/inboxes/{world['inbox'].slug}/")
    alice.wait_for_selector("#live-status[data-state=live]")
    low = alice.locator("#queue-rows tr[data-id]", has_text="Restart checkout-0")
    assert low.locator("[data-field=approve]").is_visible()
    root = signed_in(browser, live_url, WIDTHS["laptop"], username="root")
    root.goto(f"{live_url}/governance/kill-switch/")
    root.fill('input[aria-label="Reason to suspend deploy-bot"]', "Runaway retry loop.")
    root.locator('form[action$="/agents/deploy-bot/suspend/"] button').click()
    root.wait_for_selector(".alert.success")
    low.locator("[data-field=approve]").wait_for(state="hidden")
    assert low.locator("[data-field=review]").is_visible()


def test_admin_matrix_and_policy_list_fit_a_laptop(live_url, browser, world, tmp_path):  # noqa: F811
    """The seeded matrix (a migration's data) is gone in a transactional test: seed it again."""
    from django.apps import apps

    from governance.matrix import seed

    seed(apps)
    UserFactory(username="root", is_staff=True, is_superuser=True)
    page = signed_in(browser, live_url, WIDTHS["laptop"], username="root")
    page.goto(f"{live_url}/admin/governance/authorityrule/")
    assert page.locator("#matrix tbody tr").count() == 3
    shot(page, "admin-matrix-1366", tmp_path)
    page.goto(f"{live_url}/admin/governance/policy/")
    shot(page, "admin-policies-1366", tmp_path)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS["laptop"]
