"""Login lockout (django-axes): failed sign-ins are limited per account and per address.

Settings under test (orchestra_site/settings.py): ``AXES_FAILURE_LIMIT`` = 5
(``ORCHESTRA_LOGIN_FAILURE_LIMIT``), a 15-minute cool-off, ``AXES_LOCKOUT_PARAMETERS`` =
``["username", "ip_address"]`` (either count reaching the limit locks), lockout page
``registration/locked_out.html`` with status 429. API bearer tokens never go through ``authenticate``.
"""
import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from tests.factories import UserFactory

PASSWORD = "pw-for-tests-1"  # UserFactory's
LOGIN = "/accounts/login/"
LIMIT = 5
HOME = "10.1.0.1"
ELSEWHERE = "10.2.0.2"


def sign_in(username, password, *, ip=HOME, client=None):
    return (client or Client()).post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def fail(username, times, *, ip=HOME):
    for _ in range(times):
        r = sign_in(username, "wrong-password", ip=ip)
        assert r.status_code in (200, 429)


def assert_locked(response):
    assert response.status_code == 429
    assert "_auth_user_id" not in response.client.session
    body = response.content.decode()
    assert 'id="lockout-message"' in body
    assert "Too many failed sign-ins" in body and "Try again in 15 minutes" in body
    assert "<title>Sign-in locked · Orchestra</title>" in body  # our layout, not axes' plain text


def test_settings_are_the_documented_defaults():
    assert settings.AXES_FAILURE_LIMIT == LIMIT
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_a_few_wrong_passwords_then_the_right_one_signs_in(alice):
    fail("alice", LIMIT - 1)
    r = sign_in("alice", PASSWORD)
    assert r.status_code == 302 and r.url == "/"


def test_five_wrong_passwords_lock_the_account_even_with_the_right_one(alice):
    fail("alice", LIMIT)
    assert_locked(sign_in("alice", PASSWORD))


def test_the_login_form_says_why_while_locked(alice):
    fail("alice", LIMIT - 1)
    r = sign_in("alice", "wrong-password")  # the failure that reaches the limit answers with the lockout page
    assert_locked(r)


def test_a_locked_account_is_locked_from_another_address_too(alice):
    fail("alice", LIMIT, ip=HOME)
    assert_locked(sign_in("alice", PASSWORD, ip=ELSEWHERE))


def test_failures_spread_over_addresses_still_lock_the_account(alice):
    for i in range(LIMIT):
        fail("alice", 1, ip=f"10.9.0.{i}")
    assert_locked(sign_in("alice", PASSWORD, ip=ELSEWHERE))


def test_an_address_guessing_many_usernames_is_locked_for_every_username(alice, db):
    UserFactory(username="carol")
    for name in ["u1", "u2", "u3", "u4", "u5"]:
        fail(name, 1, ip=HOME)
    assert_locked(sign_in("carol", PASSWORD, ip=HOME))
    r = sign_in("carol", PASSWORD, ip=ELSEWHERE)  # the same account from a clean address is fine
    assert r.status_code == 302


def test_other_accounts_from_other_addresses_are_not_affected(alice, db):
    UserFactory(username="carol")
    fail("alice", LIMIT, ip=HOME)
    assert sign_in("carol", PASSWORD, ip=ELSEWHERE).status_code == 302


def test_the_lock_ends_after_the_cool_off(alice, settings):
    fail("alice", LIMIT)
    # Pretend the failures happened 16 minutes ago.
    from datetime import timedelta

    from django.utils import timezone

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert sign_in("alice", PASSWORD).status_code == 302


def test_an_admin_unlocks_in_django_admin(alice, db):
    fail("alice", LIMIT)
    admin = Client()
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    changelist = admin.get("/admin/axes/accessattempt/")
    assert changelist.status_code == 200 and "alice" in changelist.content.decode()
    attempt = AccessAttempt.objects.get(username="alice")
    r = admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    assert sign_in("alice", PASSWORD, ip=ELSEWHERE).status_code == 302


def test_an_admin_unlocks_with_the_axes_reset_username_command(alice):
    fail("alice", LIMIT, ip=HOME)
    assert sign_in("alice", PASSWORD, ip=ELSEWHERE).status_code == 429
    call_command("axes_reset_username", "alice")
    assert sign_in("alice", PASSWORD, ip=ELSEWHERE).status_code == 302


def test_admin_login_page_is_limited_too(alice, db):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    for _ in range(LIMIT):
        Client().post("/admin/login/", {"username": "root", "password": "nope"}, REMOTE_ADDR=HOME)
    r = Client().post("/admin/login/", {"username": "root", "password": PASSWORD}, REMOTE_ADDR=ELSEWHERE)
    assert r.status_code == 429


@pytest.mark.parametrize("path", ["/api/v1/inbox/proposals"])
def test_api_tokens_work_while_the_account_and_the_address_are_locked(alice, alice_client, path):
    fail("alice", LIMIT, ip="127.0.0.1")  # the test client's own address is locked, and alice's account
    assert sign_in("alice", PASSWORD, ip="127.0.0.1").status_code == 429
    r = alice_client.get(path)
    assert r.status_code == 200, r.content


def test_agent_tokens_work_while_the_address_is_locked(agent_client, proposal_body, db):
    fail("nobody", LIMIT, ip="127.0.0.1")
    r = agent_client.post_json("/api/v1/proposals", proposal_body)
    assert r.status_code == 201, r.content
