"""Content-Security-Policy (django-csp): every page says "scripts and styles from this origin only",
and no page needs more: no inline ``<script>``, ``<style>``, ``style=""`` or ``on…=`` handler.

The browser side (no violation while a page takes live updates) is in tests/test_browser.py.
"""
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from inbox import services
from tests.conftest import PROPOSAL
from tests.factories import UserFactory


def policy(response) -> dict[str, list[str]]:
    """The response's CSP header as {directive: [sources]}."""
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


class InlineFinder(HTMLParser):
    """Collects what a strict policy would block: inline scripts and styles, event-handler attributes."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not attrs.get("src") and attrs.get("type") not in ("application/json", "text/template"):
            self.found.append(f"inline <script> at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> block at line {self.getpos()[0]}")
        for name in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f'{name}="" on <{tag}> at line {self.getpos()[0]}')
        for name in ("href", "action", "src"):
            if (attrs.get(name) or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL on <{tag}> at line {self.getpos()[0]}")


def inline_code(response) -> list[str]:
    finder = InlineFinder()
    finder.feed(response.content.decode())
    return finder.found


@pytest.fixture
def root(db):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_web(alice):
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def pending(agent, platform_inbox):
    return services.proposal_submit(agent=agent, data=dict(PROPOSAL))[0]


def test_the_policy_allows_scripts_and_styles_from_this_origin_only(client, db):
    csp = policy(client.get("/accounts/login/"))
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["default-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"]  # the inbox WebSocket is same-origin
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]


def test_no_page_allows_inline_code_or_eval(client, db):
    header = client.get("/accounts/login/").headers["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header and "*" not in header


def app_pages(pending, platform_inbox):
    return [
        "/",
        reverse("inbox:inbox", args=[platform_inbox.slug]),
        reverse("inbox:inbox", args=[platform_inbox.slug]) + "?order=urgent",
        reverse("inbox:proposal", args=[pending.id]),
        reverse("inbox:profile"),
        reverse("inbox:kill_switch"),
        "/inboxes/no-such-inbox/",  # the 404 page
    ]


def test_every_reviewer_page_sends_the_policy_and_has_no_inline_code(root, pending, platform_inbox):
    for path in app_pages(pending, platform_inbox):
        r = root.get(path)
        assert r.status_code in (200, 404), path
        assert policy(r)["script-src"] == ["'self'"], path
        assert inline_code(r) == [], path


def test_a_decided_proposal_with_conflicts_has_no_inline_code(alice_web, agent, alice, pending):
    other, _ = services.proposal_submit(agent=agent, data={**PROPOSAL, "summary": "Another rollback"})
    services.proposal_decide(proposal=other, reviewer=alice, verdict="reject", comment="No.")
    r = alice_web.get(reverse("inbox:proposal", args=[other.id]))
    assert r.status_code == 200
    assert inline_code(r) == []


def test_the_confidence_meter_needs_no_inline_style(alice_web, pending):
    body = alice_web.get(reverse("inbox:proposal", args=[pending.id])).content.decode()
    assert '<meter class="meter" min="0" max="100" value="82"' in body


def test_login_and_lockout_pages_have_no_inline_code(client, db):
    assert inline_code(client.get("/accounts/login/")) == []
    for _ in range(5):
        r = client.post("/accounts/login/", {"username": "nobody", "password": "wrong"})
    assert r.status_code == 429
    assert policy(r)["script-src"] == ["'self'"]
    assert inline_code(r) == []


@pytest.mark.parametrize("path", ["/admin/", "/admin/auth/user/", "/admin/auth/user/add/", "/admin/governance/policy/"])
def test_admin_pages_send_the_policy_and_have_no_inline_code(root, path):
    r = root.get(path)
    assert r.status_code == 200
    assert policy(r)["script-src"] == ["'self'"]
    assert inline_code(r) == []


def test_the_api_docs_send_the_policy(client, db):
    r = client.get("/api/docs")
    assert r.status_code == 200
    assert policy(r)["script-src"] == ["'self'"]
