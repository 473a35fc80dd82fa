"""The messages: an e-mail per notification or a digest of several (Django's e-mail backend,
``EMAIL_URL``), and a Slack message to an inbox's incoming webhook (with a link that opens the
proposal, at ``ORCHESTRA_BASE_URL``). Each sender returns normally when the message was accepted and
raises ``SendFailed`` (retried) or ``callbacks.UnsafeCallback`` (refused, not retried) otherwise."""
import httpx
from django.conf import settings
from django.core.mail import send_mail

from inbox import callbacks

from .models import InboxSlack, NotificationEvent, OwedNotification

Kind = NotificationEvent.Kind
MAX_ERROR_CHARS = 1000
HEADLINE = {Kind.NEW: "New proposal in {inbox}", Kind.ESCALATED: "Escalated to {inbox}",
            Kind.SLA: "About to breach its SLA in {inbox}"}


class SendFailed(Exception):
    """The mail server or Slack did not accept the message (the text says why)."""


def proposal_link(proposal_id) -> str:
    return f"{settings.ORCHESTRA_BASE_URL}/proposals/{proposal_id}/"


def headline(event: NotificationEvent) -> str:
    """``New proposal in Platform: deploy.rollback on service:payments``."""
    p = event.proposal
    on = f" on {p.resource}" if p.resource else ""
    return f"{HEADLINE[event.kind].format(inbox=event.inbox.name)}: {p.action}{on}"


def details(event: NotificationEvent) -> str:
    """The lines under the headline: summary, risk and agent, the SLA deadline."""
    p = event.proposal
    lines = [p.summary, f"Risk {p.risk}, confidence {p.confidence:.0%}, proposed by {p.agent.name}."]
    if p.sla_due_at:
        lines.append(f"SLA due {p.sla_due_at:%Y-%m-%d %H:%M} UTC.")
    return "\n".join(lines)


def email_one(row: OwedNotification) -> None:
    """One e-mail to ``row.user`` about ``row.event``, or a ready-made one (no event) to ``row.to_email``."""
    if row.event_id is None:
        _mail(row.subject, row.body, row.to_email)
        return
    event = row.event
    _mail(f"[Orchestra] {headline(event)}", f"{details(event)}\n\nOpen it: {proposal_link(event.proposal_id)}\n",
          row.user.email)


def email_digest(rows: list[OwedNotification]) -> None:
    """One e-mail to the reviewer of ``rows`` (all theirs) listing every notification in them."""
    parts = [f"- {headline(r.event)}\n  {r.event.proposal.summary}\n  {proposal_link(r.event.proposal_id)}"
             for r in rows]
    count = len(rows)
    _mail(f"[Orchestra] Digest: {count} notification{'s' if count != 1 else ''}",
          "Since the last digest:\n\n" + "\n\n".join(parts) + "\n", rows[0].user.email)


def _mail(subject: str, body: str, to: str) -> None:
    try:
        sent = send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
    except Exception as exc:  # the backend's own errors (SMTP, socket): passing, tried again
        raise SendFailed(f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]) from exc
    if not sent:
        raise SendFailed("the e-mail backend sent nothing")


def slack_message(event: NotificationEvent) -> dict:
    """The JSON posted to Slack: a line of text with a link that opens the proposal."""
    return {"text": f"*{headline(event)}*\n{details(event)}\n<{proposal_link(event.proposal_id)}|Open the proposal>"}


def slack_post(row: OwedNotification) -> None:
    """POST ``row.event`` to the Slack incoming webhook of ``row.inbox`` (the SSRF guard of
    ``inbox.callbacks`` applies, at every attempt). Raises ``SendFailed`` unless Slack answered 2xx,
    ``callbacks.UnsafeCallback`` when the address is not allowed, and ``SendFailed`` when the inbox no
    longer has a channel."""
    slack = InboxSlack.objects.filter(inbox_id=row.inbox_id).first()
    if slack is None:
        raise SendFailed("the inbox has no Slack channel any more")
    target = callbacks.resolve(slack.webhook_url)
    try:
        with httpx.Client(timeout=settings.ORCHESTRA_WEBHOOK_TIMEOUT, follow_redirects=False) as client:
            request = client.build_request("POST", target.url, json=slack_message(row.event),
                                           headers={"User-Agent": "Orchestra-Notify/1", **target.headers},
                                           extensions=target.extensions)
            r = client.send(request)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # the URL is a credential: never in the error
        error = f"{type(exc).__name__}: {exc}".replace(target.url, slack.masked_url)
        raise SendFailed(error.replace(slack.webhook_url, slack.masked_url)[:MAX_ERROR_CHARS]) from exc
    if not r.is_success:
        raise SendFailed(f"{r.status_code} {r.text}"[:MAX_ERROR_CHARS])
