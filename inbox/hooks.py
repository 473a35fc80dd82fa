"""Extension points that apps above the inbox fill in (in their ``AppConfig.ready``), so the inbox
never imports them.

``ProposalLinks``: a proposal may name something it is made for — today an incident
(``ProposalIn.incident``). The inbox does not know what an incident is; it asks the registered
``ProposalLinks`` to
- ``resolve(agent, ref)``: check the reference before anything is stored; returns an opaque value
  (or raises ``InvalidInput`` naming ``field`` = the link's name, or ``Forbidden``);
- ``route(proposal, target, evaluation)``: adjust the routing of the unsaved proposal once policy
  has spoken (e.g. "the incident's commander decides it"), never loosening a refusal or an
  auto-approval policy did not allow;
- ``linked(proposal, target)``: record the link, inside the submission's transaction;
- ``access(principal, proposal)``: who may see and decide a linked proposal: ``(view, decide)``, or
  None to leave the inbox's own rules in force; ``access_many(principal, proposals)`` the same for
  several at once, ``{proposal id: (view, decide)}`` for the linked ones only (one query, not one each);
- ``decided(proposals)``: proposals just left ``pending`` (decided by a reviewer, superseded by a
  rival's approval, expired), inside the deciding transaction; the handler picks out its own.

``DemoExtension``: more demo data (``seed``, called at the end of ``manage.py seed_demo``) and
scripted demo actors run beside the fleet (``run(base_url, tokens, stop, emit)`` in a thread;
``agents`` names the agents it needs tokens for).
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProposalLinks:
    name: str  # the field of ProposalIn it reads, e.g. "incident"
    resolve: Callable[[Any, str], Any]
    route: Callable[[Any, Any, Any], None]
    linked: Callable[[Any, Any], None]
    access: Callable[[Any, Any], tuple[bool, bool] | None]
    access_many: Callable[[Any, list], dict] | None = None
    decided: Callable[[list], None] | None = None


@dataclass(frozen=True)
class DemoExtension:
    name: str
    seed: Callable[[], str] | None = None
    agents: tuple[str, ...] = ()
    run: Callable[..., None] | None = None


@dataclass
class _Registry:
    links: dict[str, ProposalLinks] = field(default_factory=dict)
    demos: dict[str, DemoExtension] = field(default_factory=dict)


_registry = _Registry()


def register_links(links: ProposalLinks) -> None:
    """Register (or replace) the handler of one kind of link; call from ``AppConfig.ready``."""
    _registry.links[links.name] = links


def register_demo(extension: DemoExtension) -> None:
    _registry.demos[extension.name] = extension


def links(name: str) -> ProposalLinks | None:
    return _registry.links.get(name)


def demos() -> list[DemoExtension]:
    return list(_registry.demos.values())


def proposals_decided(proposals: list) -> None:
    """Inside the deciding transaction: tell each link handler which of ``proposals`` (its own, by
    ``Proposal.link_kind``) left ``pending``. Unlinked proposals cost nothing."""
    for name, mine in _by_kind(proposals).items():
        handler = _registry.links.get(name)
        if handler is not None and handler.decided is not None:
            handler.decided(mine)


def proposals_access(principal, proposals: list) -> dict:
    """``{proposal id: (may view, may decide)}`` for those of ``proposals`` a link handler answers for
    (only linked proposals are asked about: one call per handler)."""
    answers: dict = {}
    for name, mine in _by_kind(proposals).items():
        handler = _registry.links.get(name)
        if handler is None:
            continue
        if handler.access_many is not None:
            answers.update(handler.access_many(principal, mine))
        else:
            answers.update({p.pk: a for p in mine if (a := handler.access(principal, p)) is not None})
    return answers


def _by_kind(proposals: list) -> dict:
    kinds: dict = {}
    for p in proposals:
        if p.link_kind:
            kinds.setdefault(p.link_kind, []).append(p)
    return kinds


def proposal_access(principal, proposal) -> tuple[bool, bool] | None:
    """``(may view, may decide)`` of a proposal as its link handler answers it; None when it has no
    link (``Proposal.link_kind`` empty: no handler asked, no query) or the handler has no opinion (the
    inbox's own rules apply)."""
    handler = _registry.links.get(proposal.link_kind) if proposal.link_kind else None
    return handler.access(principal, proposal) if handler is not None else None
