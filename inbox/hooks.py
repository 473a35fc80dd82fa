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
  None to leave the inbox's own rules in force.

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


def proposal_access(principal, proposal) -> tuple[bool, bool] | None:
    """``(may view, may decide)`` of a proposal as its link handler answers it; None when it has no
    link (``Proposal.link_kind`` empty: no handler asked, no query) or the handler has no opinion (the
    inbox's own rules apply)."""
    handler = _registry.links.get(proposal.link_kind) if proposal.link_kind else None
    return handler.access(principal, proposal) if handler is not None else None
