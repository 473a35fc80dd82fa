"""Conflicts, live: a reviewer of a rival's inbox sees, without a reload, that a rival on the same
resource was approved elsewhere and that theirs was left pending for them (event ``proposal.conflict``),
over the real consumer, and in a real browser (the page JS marks the row and links the approved one).
"""
import threading

import pytest
from django.db import connection

from inbox.models import Proposal
from tests.conftest import PROPOSAL
from tests.test_browser import CHROMIUM, PASSWORD, browser, live_url  # noqa: F401  (fixtures)
from tests.test_conflicts import across, approve  # noqa: F401  (fixture and helper)


def approve_and_close(pk, reviewer):
    try:
        approve(Proposal.objects.get(pk=pk), reviewer, supersede_conflicts=True)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
async def test_a_reviewer_of_the_rivals_inbox_sees_the_conflict_live(across, alice, bob):  # noqa: F811
    """Over the real consumer and the in-memory channel layer, after the approval's commit."""
    from channels.db import database_sync_to_async
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator

    from inbox.ws_urls import websocket_urlpatterns

    mine, theirs = across
    ws = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/inboxes/{theirs.inbox_id}/")
    ws.scope["user"] = bob
    assert (await ws.connect())[0]
    await database_sync_to_async(approve)(mine, alice, supersede_conflicts=True)

    message = await ws.receive_json_from(timeout=3)
    assert message["event"] == "proposal.conflict" and message["pending_count"] == 1
    assert message["proposal"]["id"] == str(theirs.pk) and message["approved"]["id"] == str(mine.pk)
    assert message["approved"]["decided_by"] == "alice"
    await ws.disconnect()


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium")
def test_the_rivals_row_and_page_are_marked_live_in_the_browser(across, alice, bob, live_url, browser):  # noqa: F811
    mine, theirs = across
    pages = {}
    for name, path in (("inbox", f"/inboxes/{theirs.inbox.slug}/"), ("proposal", f"/proposals/{theirs.pk}/")):
        page = browser.new_context().new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live_url}{path}")
        page.fill("#id_username", "bob")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_url}{path}")
        page.wait_for_selector("#live-status[data-state=live]")
        pages[name] = page
    assert pages["inbox"].locator(".conflict-mark").count() == 0

    # From another thread: Playwright's event loop runs in this one, where ``async_to_sync`` (the
    # events' group_send) refuses to run.
    approving = threading.Thread(target=approve_and_close, args=(mine.pk, alice))
    approving.start()
    approving.join(30)

    mark = pages["inbox"].locator(f'#queue-rows tr[data-id="{theirs.pk}"] .conflict-mark')
    mark.wait_for()
    assert f"/proposals/{mine.pk}/" in mark.locator("a").get_attribute("href")
    assert "by alice" in mark.inner_text()
    banner = pages["proposal"].locator("#live-conflict")
    banner.wait_for()
    assert f"/proposals/{mine.pk}/" in banner.locator("a").get_attribute("href")
    assert PROPOSAL["resource"] in banner.inner_text()
