"""The post-incident review: generated from the record, edited by the team, exported as Markdown.

``review_generate`` writes (or rewrites, on request) the review from what was recorded: summary,
impact, the metrics against target, the timeline (oldest first), the decisions with who and why, what
the agents proposed and what was approved or refused, the contradicting findings, and the action
items. ``review_update`` saves the team's edits (history kept). ``review_markdown`` is the export.
"""
from django.db import transaction
from django.utils import timezone

from . import record, selectors
from .metrics import human, metrics_of
from .models import EntryKind, Incident, Review, Severity


def _when(at) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S} UTC" if at else "—"


def render(incident: Incident, now=None) -> str:
    """The generated Markdown of ``incident``'s review (no write)."""
    target = Severity.objects.filter(level=incident.severity).values_list("target_seconds", flat=True).first() or 0
    m = metrics_of(incident, target, now)
    timeline = list(incident.timeline.select_related("agent", "user").order_by("at", "id"))
    lines = [f"# Post-incident review: {incident.reference} {incident.title}", "",
             f"- **Severity:** {incident.severity}  ", f"- **Status:** {incident.get_status_display()}  ",
             f"- **Domain:** {incident.domain.name}  ",
             f"- **Commander:** {incident.commander.get_username() if incident.commander else '—'}  ",
             f"- **Affected resources:** {', '.join(incident.affected_resources) or '—'}", "",
             "## Summary", "", incident.summary or "_(to be written)_", "",
             "## Impact", "", f"- Impact started: {_when(incident.impact_started_at)}",
             f"- Mitigated: {_when(incident.mitigated_at)}", f"- Resolved: {_when(incident.resolved_at)}", "",
             "## Metrics against target", "", "| metric | value |", "| --- | --- |",
             f"| time to acknowledge (reported → accepted) | {human(m.time_to_acknowledge)} |",
             f"| time to mitigate (impact started → mitigated) | {human(m.time_to_mitigate)} |",
             f"| time to resolve (impact started → resolved) | {human(m.time_to_resolve)} |",
             f"| resolution target ({incident.severity}) | {human(target)} |",
             f"| target met | {_met(m.target_met)} |", ""]
    lines += ["## Timeline", ""]
    lines += [f"- {_when(e.at)} — **{e.get_kind_display()}** ({e.actor}): {_one_line(e.summary)}" for e in timeline]
    lines += ["", "## Decisions", ""]
    decisions = [e for e in timeline if e.kind in (EntryKind.STATUS, EntryKind.SEVERITY, EntryKind.COMMAND,
                                                   EntryKind.DECISION, EntryKind.MERGE)]
    lines += [f"- {_when(e.at)}: {e.actor} — {_one_line(e.summary)}" for e in decisions] or ["- none"]
    lines += ["", "## What the agents proposed", "", "| proposal | agent | risk | outcome | decided by | why |",
              "| --- | --- | --- | --- | --- | --- |"]
    for r in incident.remediations.select_related("proposal__agent", "proposal__decided_by"):
        p = r.proposal
        lines.append(f"| {_cell(p.action)} {_cell(p.summary)} | {p.agent.name} | {p.risk} | "
                     f"{p.get_status_display()} | {p.decided_by.get_username() if p.decided_by_id else '—'} | "
                     f"{_cell(p.decision_comment or p.routing_reason)} |")
    clashes = selectors.contradictions(incident)
    if clashes:
        lines += ["", "## Contradicting findings", ""]
        for question, answers in clashes.items():
            lines.append(f"- **{question}:** " + "; ".join(f"{e.actor}: {e.answer or e.summary}" for e in answers))
    lines += ["", "## Action items", ""]
    return "\n".join(lines) + "\n"


def _met(met) -> str:
    return {True: "yes", False: "no", None: "not yet known"}[met]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")[:300]


def review_generate(*, incident: Incident, by, regenerate: bool = False) -> Review:
    """The incident's review, generated from the record when it has none (or ``regenerate``, which
    replaces the body; the team's action items are kept)."""
    with transaction.atomic():
        locked = Incident.objects.select_for_update(of=("self",)).select_related("domain").get(pk=incident.pk)
        existing = Review.objects.filter(incident=locked).first()
        if existing is not None and not regenerate:
            return existing
        now = timezone.now()
        body = render(locked, now)
        if existing is None:
            review = Review.objects.create(incident=locked, body=body, generated_at=now)
        else:
            existing.body, existing.generated_at = body, now
            existing.save()
            review = existing
        record.audit(locked, "post-incident review generated", actor=by,
                     decision="regenerated" if regenerate else "generated")
    return review


def review_update(*, review: Review, by, body: str, action_items: str) -> Review:
    with transaction.atomic():
        review.body, review.action_items = body, action_items
        review.edited_at, review.edited_by = timezone.now(), by
        review.save()
        record.audit(review.incident, f"post-incident review edited by {by.get_username()}", actor=by,
                     decision="edited")
    return review


def review_markdown(review: Review) -> str:
    """The export: the body, with the action items as a checklist under its last heading."""
    items = [line.strip() for line in review.action_items.splitlines() if line.strip()]
    tail = "\n".join(f"- [ ] {item.removeprefix('- ').removeprefix('[ ] ')}" for item in items) or "- none yet"
    body = review.body.rstrip()
    return f"{body}\n\n{tail}\n" if body.endswith("## Action items") else f"{body}\n\n## Action items\n\n{tail}\n"
