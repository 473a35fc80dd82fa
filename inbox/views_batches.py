"""Reviewer pages for batches: decide the proposals ticked on an inbox page with one verdict and one
comment. Thin, like ``inbox.views``: parse, call ``inbox.batches.proposals_decide`` (which checks each
proposal with ``permissions.access_proposal``), report per proposal."""
from uuid import UUID

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from orchestra_site.errors import InvalidInput

from . import batches, permissions
from .views import reviewer_view

BULK_VERDICTS = {"approve": "Approved", "reject": "Rejected"}


@reviewer_view
@require_POST
def decide_selected(request, slug):
    """POST ``proposal`` (repeated: the ticked ids), ``verdict`` (approve or reject) and ``comment``
    (required to reject). Each proposal is decided on its own; the message says which failed and why."""
    inbox = permissions.access_inbox(request.user, slug=slug)
    verdict, comment = request.POST.get("verdict", ""), request.POST.get("comment", "").strip()
    ids = []
    for raw in dict.fromkeys(request.POST.getlist("proposal")):
        try:
            ids.append(UUID(raw))
        except ValueError:
            continue
    if verdict not in BULK_VERDICTS or not ids:
        messages.error(request, "Tick one or more proposals, then approve or reject them.")
        return redirect("inbox:inbox", slug=inbox.slug)
    try:
        outcomes = batches.proposals_decide(reviewer=request.user, items=[
            batches.DecisionItem(proposal_id=i, verdict=verdict, comment=comment) for i in ids])
    except InvalidInput as e:
        messages.error(request, e.message)
        return redirect("inbox:inbox", slug=inbox.slug)
    done = [o for o in outcomes if o.ok]
    if done:
        still = sum(1 for o in done if o.proposal.is_pending)
        note = f" ({still} still pending: your vote is in, another approval is needed)" if still else ""
        plural = "s" if len(done) != 1 else ""
        messages.success(request, f"{BULK_VERDICTS[verdict]} {len(done)} proposal{plural}{note}.")
    for o in outcomes:
        if not o.ok:
            messages.error(request, f"{str(o.proposal_id)[:8]}: {o.error.message}")
    return redirect("inbox:inbox", slug=inbox.slug)
