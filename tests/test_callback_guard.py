"""Where decision callbacks may go (inbox.callbacks): the SSRF guard, at submission and at delivery.

Never link-local (cloud metadata at 169.254.169.254), unspecified, multicast or reserved addresses;
only ``ORCHESTRA_WEBHOOK_ALLOWED_NETWORKS`` when set. Deliveries connect to the address that was
checked (pinned), with the original Host header, so DNS rebinding cannot redirect them.
"""
import ipaddress
import socket

import pytest

from inbox import callbacks, services, tasks
from inbox.models import OwedWebhook, WebhookDelivery
from tests.test_webhooks import Receiver

pytestmark = pytest.mark.django_db
P = "/api/v1/proposals"


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/hook",
                                 "http://0.0.0.0:8000/hook", "http://224.0.0.1/hook", "http://240.0.0.1/hook",
                                 "http://[::ffff:169.254.169.254]/hook"])
def test_a_forbidden_address_is_refused_at_submission_naming_the_field(agent_client, proposal_body, url):
    r = agent_client.post_json(P, dict(proposal_body, callback_url=url))
    assert r.status_code == 422
    assert "callback_url" in r.content.decode()


def test_outside_the_allowed_networks_is_refused(settings, agent_client, proposal_body):
    settings.ORCHESTRA_WEBHOOK_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    assert agent_client.post_json(P, dict(proposal_body, callback_url="http://10.1.2.3/h")).status_code == 422
    assert agent_client.post_json(P, dict(proposal_body, callback_url="http://203.0.113.7/h")).status_code == 201


def test_private_networks_are_allowed_by_default(agent_client, proposal_body):
    """A self-hosted fleet's agents usually sit on private networks."""
    r = agent_client.post_json(P, dict(proposal_body, callback_url="http://10.20.0.5:8080/orchestra"))
    assert r.status_code == 201


def resolving_to(monkeypatch, *ips):
    def fake(host, port, *a, **kw):
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
                for ip in ips]
    monkeypatch.setattr(callbacks.socket, "getaddrinfo", fake)


def test_a_host_name_is_pinned_to_the_checked_address(monkeypatch):
    resolving_to(monkeypatch, "198.51.100.20")
    target = callbacks.resolve("https://hooks.example.com:8443/orchestra?x=1")
    assert target.url == "https://198.51.100.20:8443/orchestra?x=1"
    assert target.headers == {"Host": "hooks.example.com:8443"}
    assert target.extensions == {"sni_hostname": "hooks.example.com"}


def test_a_name_resolving_to_any_forbidden_address_is_refused(monkeypatch):
    resolving_to(monkeypatch, "198.51.100.20", "169.254.169.254")
    with pytest.raises(callbacks.UnsafeCallback, match="169.254.169.254"):
        callbacks.resolve("http://rebind.example.com/hook")


def test_a_refused_delivery_is_recorded_and_not_retried(monkeypatch, settings, agent, alice, proposal_body):
    from inbox.schemas import ProposalIn

    with Receiver() as receiver:
        data = ProposalIn(**{**proposal_body, "risk": "low"}).to_model_fields()
        proposal = services.proposal_submit(agent=agent, data={**data, "callback_url": receiver.url})[0]
        services.proposal_decide(proposal=proposal, reviewer=alice, verdict="approve")
        settings.ORCHESTRA_WEBHOOK_ALLOWED_NETWORKS = ["203.0.113.0/24"]  # 127.0.0.1 no longer allowed
        assert tasks.deliver_webhook(str(proposal.pk)) is False
        assert receiver.requests == []
    row = WebhookDelivery.objects.get(proposal=proposal)
    assert not row.delivered and row.error.startswith("refused:") and "127.0.0.1" in row.error
    owed = OwedWebhook.objects.get(proposal=proposal)  # ended: the outbox sweep never queues it again
    assert owed.state == OwedWebhook.State.REFUSED and owed.done_at


def test_check_address_unwraps_ipv4_mapped_addresses():
    with pytest.raises(callbacks.UnsafeCallback):
        callbacks.check_address(ipaddress.ip_address("::ffff:169.254.169.254"))
