"""An open inbox socket stops when its session ends or its user loses access (inbox/signals.py).

Before, a socket was checked only when it connected: after logout, or after losing view permission,
it kept receiving proposals while the HTTP page already answered 404. Now logout closes the sockets
of that session (4401) and every change that can take access away makes each of the user's sockets
check again (4403 when the inbox is no longer visible). Notices are sent after commit, so these tests
use real transactions, as tests/test_consumer.py does.
"""
import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.test import Client
from guardian.shortcuts import remove_perm

from governance import services as governance_services
from inbox import services
from inbox.consumers import FORBIDDEN, SESSION_ENDED
from inbox.ws_urls import websocket_urlpatterns
from orchestra_site.asgi import application
from tests.conftest import PROPOSAL
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

submit = database_sync_to_async(services.proposal_submit)


@database_sync_to_async
def db(fn, *args, **kwargs):
    return fn(*args, **kwargs)


async def listen(user, inbox_id):
    """A socket with ``scope["user"]`` set by hand (no session), as in tests/test_consumer.py."""
    ws = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/inboxes/{inbox_id}/")
    ws.scope["user"] = user
    connected, _ = await ws.connect()
    assert connected
    return ws


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def listen_with_session(client: Client, inbox_id):
    """A socket through the whole ASGI app with the browser's session cookie."""
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    ws = WebsocketCommunicator(application, f"/ws/inboxes/{inbox_id}/",
                               headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)])
    connected, _ = await ws.connect()
    assert connected
    return ws


async def assert_closed(ws, code):
    message = await ws.receive_output(timeout=3)
    assert message == {"type": "websocket.close", "code": code}


async def assert_still_live(ws, agent):
    await submit(agent=agent, data=dict(PROPOSAL))
    assert (await ws.receive_json_from(timeout=3))["event"] == "proposal.created"


async def assert_no_more_events(ws, agent):
    await submit(agent=agent, data={**PROPOSAL, "summary": "After the socket was closed"})
    assert await ws.receive_nothing(timeout=0.5)


# --- logout ---------------------------------------------------------------------------------------

async def test_logout_closes_the_sockets_of_that_session(alice, agent, platform_inbox):
    browser = await db(signed_in, alice)
    ws = await listen_with_session(browser, platform_inbox.pk)
    response = await db(browser.post, "/accounts/logout/")
    assert response.status_code == 302
    await assert_closed(ws, SESSION_ENDED)
    await assert_no_more_events(ws, agent)
    await ws.disconnect()


async def test_logout_leaves_the_users_other_sessions_open(alice, agent, platform_inbox):
    laptop, phone = await db(signed_in, alice), await db(signed_in, alice)
    laptop_ws = await listen_with_session(laptop, platform_inbox.pk)
    phone_ws = await listen_with_session(phone, platform_inbox.pk)
    await db(laptop.post, "/accounts/logout/")
    await assert_closed(laptop_ws, SESSION_ENDED)
    await assert_still_live(phone_ws, agent)
    await laptop_ws.disconnect()
    await phone_ws.disconnect()


async def test_a_socket_of_a_logged_out_session_cannot_reconnect(alice, platform_inbox):
    browser = await db(signed_in, alice)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    await db(browser.post, "/accounts/logout/")
    ws = WebsocketCommunicator(application, f"/ws/inboxes/{platform_inbox.pk}/",
                               headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)])
    connected, code = await ws.connect()
    assert not connected and code == FORBIDDEN


# --- losing access --------------------------------------------------------------------------------

async def test_removal_from_the_reviewers_group_closes_the_socket(alice, agent, platform_inbox):
    ws = await listen(alice, platform_inbox.pk)
    await db(alice.groups.remove, platform_inbox.reviewers)
    await assert_closed(ws, FORBIDDEN)
    await assert_no_more_events(ws, agent)
    await ws.disconnect()


async def test_removal_from_the_group_side_closes_the_socket(alice, agent, platform_inbox):
    ws = await listen(alice, platform_inbox.pk)
    await db(platform_inbox.reviewers.user_set.remove, alice)
    await assert_closed(ws, FORBIDDEN)
    await ws.disconnect()


async def test_emptying_the_group_closes_its_members_sockets(alice, agent, platform_inbox):
    ws = await listen(alice, platform_inbox.pk)
    await db(platform_inbox.reviewers.user_set.clear)
    await assert_closed(ws, FORBIDDEN)
    await ws.disconnect()


async def test_revoking_the_groups_view_permission_closes_the_socket(alice, agent, platform_inbox):
    ws = await listen(alice, platform_inbox.pk)
    await db(remove_perm, "governance.view_inbox", platform_inbox.reviewers, platform_inbox)
    await assert_closed(ws, FORBIDDEN)
    await assert_no_more_events(ws, agent)
    await ws.disconnect()


async def test_revoking_a_users_own_object_permission_closes_the_socket(agent, platform_inbox):
    dora = await db(UserFactory, username="dora")
    await db(governance_services.inbox_grant, inbox=platform_inbox, user=dora, decide=False)
    ws = await listen(dora, platform_inbox.pk)
    await db(remove_perm, "governance.view_inbox", dora, platform_inbox)
    await assert_closed(ws, FORBIDDEN)
    await ws.disconnect()


async def test_deleting_the_reviewers_group_closes_the_socket(alice, agent, platform_inbox):
    ws = await listen(alice, platform_inbox.pk)
    await db(Group.objects.filter(pk=platform_inbox.reviewers_id).delete)
    await assert_closed(ws, FORBIDDEN)
    await ws.disconnect()


async def test_losing_a_global_permission_closes_the_auditors_socket(auditor, platform_inbox):
    ws = await listen(auditor, platform_inbox.pk)
    await db(auditor.user_permissions.remove, await db(Permission.objects.get, codename="view_inbox"))
    await assert_closed(ws, FORBIDDEN)
    await ws.disconnect()


async def test_losing_a_groups_global_permission_closes_its_members_sockets(platform_inbox):
    view = await db(Permission.objects.get, codename="view_inbox")
    auditors = await db(Group.objects.create, name="Auditors")
    await db(auditors.permissions.add, view)
    ada = await db(UserFactory, username="ada")
    await db(ada.groups.add, auditors)
    ws = await listen(ada, platform_inbox.pk)
    await db(view.group_set.remove, auditors)  # from the permission's side
    await assert_closed(ws, FORBIDDEN)
    await ws.disconnect()


async def test_deactivating_the_user_ends_the_session_socket(alice, agent, platform_inbox):
    browser = await db(signed_in, alice)
    ws = await listen_with_session(browser, platform_inbox.pk)
    alice.is_active = False
    await db(alice.save)
    await assert_closed(ws, SESSION_ENDED)
    await ws.disconnect()


async def test_a_password_changed_elsewhere_ends_the_session_socket(alice, agent, platform_inbox):
    browser = await db(signed_in, alice)
    ws = await listen_with_session(browser, platform_inbox.pk)
    alice.set_password("a-new-password-42")
    await db(alice.save)
    await assert_closed(ws, SESSION_ENDED)
    await ws.disconnect()


# --- what must not close a socket -----------------------------------------------------------------

async def test_a_change_that_keeps_access_keeps_the_socket(alice, agent, platform_inbox, legal_inbox):
    ws = await listen(alice, platform_inbox.pk)
    await db(alice.groups.add, legal_inbox.reviewers)
    await db(alice.groups.remove, legal_inbox.reviewers)  # still a platform reviewer
    await assert_still_live(ws, agent)
    await ws.disconnect()


async def test_another_users_loss_does_not_touch_this_socket(alice, bob, agent, platform_inbox, legal_inbox):
    ws = await listen(alice, platform_inbox.pk)
    await db(bob.groups.remove, legal_inbox.reviewers)
    await assert_still_live(ws, agent)
    await ws.disconnect()


async def test_signing_in_again_elsewhere_keeps_the_socket(alice, agent, platform_inbox):
    ws = await listen(alice, platform_inbox.pk)
    await db(Client().post, "/accounts/login/", {"username": "alice", "password": "pw-for-tests-1"})
    await assert_still_live(ws, agent)
    await ws.disconnect()


async def test_a_rolled_back_removal_keeps_the_socket(alice, agent, platform_inbox):
    ws = await listen(alice, platform_inbox.pk)

    def remove_then_roll_back():
        with pytest.raises(RuntimeError), transaction.atomic():
            alice.groups.remove(platform_inbox.reviewers)
            raise RuntimeError("rolled back")

    await db(remove_then_roll_back)
    await assert_still_live(ws, agent)
    await ws.disconnect()
