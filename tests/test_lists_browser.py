"""A real browser on the inbox list, My work and the keyboard shortcuts, at 1366 and 390 px wide.

Same server and Chromium as ``tests/test_browser.py`` (its fixtures). Screenshots go to
``$ORCHESTRA_SCREENSHOTS`` when set (to look at them), else nowhere.
"""
import os
from datetime import timedelta

import pytest
from django.utils import timezone

from inbox import services
from tests.factories import ProposalFactory
from tests.test_browser import CHROMIUM, CSP_LISTENER, PASSWORD, browser, csp_violations, live_url  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (apt-get install chromium)"),
]
SHOTS = os.environ.get("ORCHESTRA_SCREENSHOTS")


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}-top.png"))  # the first screen, as seen


def open_as(browser, base_url, username, path, *, width):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 500 else 844})
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base_url}/accounts/login/?next={path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}{path}")
    return page, errors


@pytest.fixture
def queue(alice, agent, platform_inbox):
    """60 pending proposals in alice's inbox (one page and a bit), two overdue, one waiting for a
    second approver, and two that alice decided."""
    now = timezone.now()
    rows = []
    for i in range(60):
        rows.append(ProposalFactory(
            agent=agent, inbox=platform_inbox, risk=["low", "medium", "high", "critical"][i % 4],
            action=["deploy.scale", "db.migrate", "cache.purge"][i % 3], resource=f"service:svc-{i}",
            summary=f"Proposal {i}: tune svc-{i}", quorum=2 if i % 4 >= 2 else 1,
            sla_due_at=None if i % 5 == 0 else now - timedelta(minutes=i - 50) if i > 55 else now + timedelta(
                minutes=(60 - i) * 15)))  # the newest ones are overdue
    for p in rows[:2]:
        services.proposal_decide(proposal=p, reviewer=alice, verdict="approve")
    return rows


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")


@pytest.mark.parametrize("width", [1366, 390])
def test_the_inbox_list_filters_pages_and_shows_deadlines(live_url, browser, alice, queue, width):  # noqa: F811
    page, errors = open_as(browser, live_url, "alice", "/inboxes/platform-reviewers/", width=width)
    assert page.locator("#queue-rows tr.row").count() == 50
    assert "1–50 of 58" in page.locator("#page-range").inner_text()
    assert page.locator("td.due.overdue").count() >= 1
    shot(page, f"inbox-{width}")
    assert no_horizontal_scroll(page)  # the table scrolls inside its card, the page does not
    if width == 390:  # on a phone: the search only, and the bulk card once a row is ticked
        assert page.locator("#filters.compact").count() == 1 and not page.locator("#id_risk").is_visible()
        assert page.locator("#bulk-decide").is_hidden()
        page.locator('#queue-rows input[data-field="select"]').first.check()
        assert page.locator("#bulk-decide").is_visible()
        page.click("#filters .more-filters")
        assert page.locator("#id_risk").is_visible()
    else:
        assert page.locator("#filters.compact").count() == 0 and page.locator("#bulk-decide").is_visible()
    # The filter form works as a plain GET form.
    page.select_option("#id_risk", "critical")
    page.fill("#id_q", "svc-1")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**risk=critical**")
    rows = page.locator("#queue-rows tr.row")
    assert rows.count() >= 1
    assert all("Critical" in rows.nth(i).locator("[data-field=risk]").inner_text().title() for i in range(rows.count()))
    assert page.locator("#queue").get_attribute("data-live") == "notice"
    # Next page, then the decided tab with who and when.
    page.goto(f"{live_url}/inboxes/platform-reviewers/?page=2")
    assert page.locator("#queue-rows tr.row").count() == 8
    page.goto(f"{live_url}/inboxes/platform-reviewers/?status=decided")
    assert page.locator("td.decision").first.inner_text().startswith("Approved")
    shot(page, f"inbox-decided-{width}")
    assert errors == [] and csp_violations(page) == []


@pytest.mark.parametrize("width", [1366, 390])
def test_my_work_shows_its_sections(live_url, browser, alice, queue, width):  # noqa: F811
    page, errors = open_as(browser, live_url, "alice", "/my-work/", width=width)
    for section in ("second", "waiting", "quorum", "escalated", "decided"):
        assert page.locator(f"#{section}").is_visible()
    assert page.locator("#decided .work-list li").count() == 2
    shot(page, f"my-work-{width}")
    assert no_horizontal_scroll(page)
    assert errors == [] and csp_violations(page) == []


def test_keyboard_moves_opens_and_shows_its_help(live_url, browser, alice, queue):  # noqa: F811
    page, errors = open_as(browser, live_url, "alice", "/inboxes/platform-reviewers/", width=1366)
    rows = page.locator("#queue-rows tr.row")
    page.keyboard.press("j")
    assert "kb-selected" in rows.nth(0).get_attribute("class")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert "kb-selected" in rows.nth(1).get_attribute("class")
    assert page.locator("tr.row.kb-selected").count() == 1
    # ? shows the help: a dialog, with the keys; Escape closes it and keys work again.
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    assert dialog.is_visible() and "Next row" in dialog.inner_text()
    shot(page, "keyboard-help-1366")
    page.keyboard.press("j")  # ignored while the help is open
    assert "kb-selected" in rows.nth(1).get_attribute("class")
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    # Keys typed into a field are text, not shortcuts.
    page.fill("#id_q", "")
    page.focus("#id_q")
    page.keyboard.type("jk")
    assert page.input_value("#id_q") == "jk"
    assert "kb-selected" in rows.nth(1).get_attribute("class")
    # o opens the selected row.
    page.locator("body").click(position={"x": 5, "y": 300})
    href = rows.nth(1).locator("a[data-field=link]").get_attribute("href")
    page.keyboard.press("o")
    page.wait_for_url(f"{live_url}{href}")
    assert errors == []


def test_keyboard_a_approves_the_selected_row_when_it_offers_approve(live_url, browser, alice, queue):  # noqa: F811
    page, errors = open_as(browser, live_url, "alice", "/inboxes/platform-reviewers/?risk=low", width=1366)
    row = page.locator("#queue-rows tr.row").first
    pid = row.get_attribute("data-id")
    page.keyboard.press("j")
    page.keyboard.press("a")
    page.wait_for_selector(".alert.success")
    from inbox.models import Proposal

    assert Proposal.objects.get(pk=pid).status == "approved"
    assert errors == []


def test_data_shortcut_clicks_the_element_on_its_key(live_url, browser, alice, queue):  # noqa: F811
    """The generic part: an element with ``data-shortcut`` is clicked by its key (here the sidebar's
    My work link gets one for the test)."""
    page, errors = open_as(browser, live_url, "alice", "/inboxes/platform-reviewers/", width=1366)
    page.evaluate("document.querySelector('.my-work-link').dataset.shortcut = 'm'")
    page.keyboard.press("m")
    page.wait_for_url(f"{live_url}/my-work/")
    assert errors == []


@pytest.mark.parametrize("width", [1366, 390])
def test_the_home_of_a_broad_role(live_url, browser, alice, queue, platform, legal_inbox, width):  # noqa: F811
    """An orchestrator's home: what needs them first, then their inboxes by domain and level."""
    from guardian.shortcuts import assign_perm

    from tests.factories import UserFactory

    olivia = UserFactory(username="olivia")
    assign_perm("governance.orchestrate_domain", olivia, platform)
    services.proposal_escalate(proposal=queue[5], reason="Above me", by=alice)
    page, errors = open_as(browser, live_url, "olivia", "/", width=width)
    assert page.locator("#needs-escalated .work-list li").count() == 1
    assert page.locator("#needs-overdue .work-list li").count() >= 1
    assert page.locator("#inbox-groups .level-row").count() == 2  # Platform: agent level, domain level
    shot(page, f"home-broad-{width}")
    # The content fits (the top bar's links of broad roles are the phone layout's business: orchestra.css).
    assert page.evaluate("(() => { const m = document.querySelector('main.content');"
                         " return m.scrollWidth <= m.clientWidth + 1; })()")
    assert errors == [] and csp_violations(page) == []
