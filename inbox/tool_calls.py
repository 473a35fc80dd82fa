"""What a framework's tool call says about itself: its name, the verdicts it accepts and the JSON
Schema of its arguments. Checked when it is proposed and again when a reviewer decides.

- **Names.** Agent frameworks name tools as they like (``delete_file``, ``post-to-slack``,
  ``postToSlack``, ``github:create_issue``, ``fs/delete``): a proposal's ``action`` is such a name
  (letters, digits and ``_ . : / -``, see ``ACTION_PATTERN``) or a dotted action type
  (``deploy.rollback``). Dotted action types keep driving governance as before: an action type's
  contract (``governance.action_types``) and category apply to the proposals whose action is its
  name, and policies' ``action_pattern`` globs match either kind of name (``delete_*``, ``deploy.*``).
- **Verdicts.** ``allowed_verdicts`` (a subset of approve, reject, edit, answer; empty = all four)
  are the only verdicts the page offers and the API accepts for that proposal (others: 422, field
  ``verdict``, code ``verdict_not_allowed``).
- **Args schema.** ``args_schema`` (JSON Schema 2020-12 of the tool's args) must itself be valid
  (422, field ``args_schema``, code ``invalid_schema``); the proposed args and any edited args must
  keep it *and* the action type's contract (422 naming the JSON path, ``args.path``), so no edit the
  tool would refuse becomes a decision.
"""
from governance.action_types import SchemaBroken, check_against, schema_errors, validate_args
from orchestra_site.errors import InvalidInput

from .models import Proposal

VERDICTS = ("approve", "reject", "edit", "answer")
ACTION_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$"
BATCH_PATTERN = ACTION_PATTERN


def offered_verdicts(p: Proposal) -> tuple[str, ...]:
    """The verdicts a reviewer may give ``p``, in the usual order (all four when it names none)."""
    allowed = set(p.allowed_verdicts or VERDICTS)
    return tuple(v for v in VERDICTS if v in allowed)


def check_verdict(p: Proposal, verdict: str) -> None:
    """Raise ``InvalidInput`` (422, field ``verdict``, code ``verdict_not_allowed``) when ``p``'s tool
    does not accept ``verdict``."""
    offered = offered_verdicts(p)
    if verdict not in offered:
        raise InvalidInput(f"This tool accepts only {', '.join(offered)}; not {verdict}.", field="verdict",
                           code="verdict_not_allowed", allowed_verdicts=list(offered))


def validate_proposed(data: dict) -> None:
    """Check a would-be proposal's ``args`` (the ``ProposalIn`` fields in ``data``) against its
    ``args_schema`` and its action type's contract. Raises ``InvalidInput`` (422)."""
    _validate(data["action"], data.get("args_schema"), data.get("args") or {})


def validate_edit(p: Proposal, args: dict) -> None:
    """Check a reviewer's edited ``args`` for ``p`` against its ``args_schema`` and its action type's
    contract. Raises ``InvalidInput`` (422, ``field`` the JSON path, e.g. ``args.path``)."""
    _validate(p.action, p.args_schema, args)


def _validate(action: str, args_schema, args: dict) -> None:
    if args_schema is not None:
        errors = schema_errors(args_schema)
        if errors:
            raise InvalidInput("args_schema is not a valid JSON Schema: " + "; ".join(errors[:3]),
                               field="args_schema", code="invalid_schema")
        try:
            check_against(args_schema, args, source=f"args schema of {action}")
        except SchemaBroken as exc:
            raise InvalidInput(f"args_schema cannot be applied: {exc}", field="args_schema",
                               code="invalid_schema") from exc
    validate_args(action, args)
