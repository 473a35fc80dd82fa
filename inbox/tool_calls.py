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

  An ``args_schema`` comes from the agent, so it is untrusted input run on the server. It is applied
  with ``jsonschema-rs`` under limits: regular expressions (``pattern``, ``patternProperties``) run on
  a linear-time engine (Rust's ``regex``: no backtracking, so ``^(a+)+$`` cannot burn CPU; lookaround
  and backreferences are refused as ``invalid_schema``), compiled patterns are capped at
  ``REGEX_SIZE_LIMIT`` bytes, and nothing is fetched (a remote ``$ref`` is ``invalid_schema``).
  Action types' contracts are written by admins and keep the ``jsonschema`` package.
"""
from itertools import islice

import jsonschema_rs

from governance.action_types import validate_args
from orchestra_site.errors import InvalidInput

from .models import Proposal

VERDICTS = ("approve", "reject", "edit", "answer")
QUESTION_VERDICTS = ("answer", "reject")  # a question has nothing to approve or edit
ACTION_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$"
BATCH_PATTERN = ACTION_PATTERN
REGEX_SIZE_LIMIT = 256 * 1024  # bytes of one compiled pattern (and of its DFA cache)
MESSAGE_LIMIT = 300  # characters of a validation message (they quote the offending value)


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
    ``args_schema`` and its action type's contract, and a question's ``allowed_verdicts`` (answer and
    reject only: field ``allowed_verdicts``, code ``verdict_not_allowed``). Raises ``InvalidInput`` (422)."""
    if data.get("kind") == Proposal.Kind.QUESTION:
        extra = [v for v in data.get("allowed_verdicts") or () if v not in QUESTION_VERDICTS]
        if extra:
            raise InvalidInput(f"A question is answered or declined; it cannot allow {', '.join(extra)}.",
                               field="allowed_verdicts", code="verdict_not_allowed")
    _validate(data["action"], data.get("args_schema"), data.get("args") or {})


def validate_edit(p: Proposal, args: dict) -> None:
    """Check a reviewer's edited ``args`` for ``p`` against its ``args_schema`` and its action type's
    contract. Raises ``InvalidInput`` (422, ``field`` the JSON path, e.g. ``args.path``)."""
    _validate(p.action, p.args_schema, args)


def _validate(action: str, args_schema, args: dict) -> None:
    if args_schema is not None:
        validator = _args_validator(args_schema)
        errors = sorted(islice(validator.iter_errors(args), 50), key=lambda e: [str(p) for p in e.instance_path])
        if errors:
            err = errors[0]
            parts = ["args", *map(str, err.instance_path)]
            if isinstance(err.kind, jsonschema_rs.ValidationErrorKind.Required):
                parts.append(str(err.kind.property))
            path = ".".join(parts)
            raise InvalidInput(f"{path}: {_short(err.message)} (args schema of {action})", field=path)
    validate_args(action, args)


def _args_validator(args_schema):
    """The validator of an agent's ``args_schema`` (JSON Schema 2020-12), under the limits above.
    Raises ``InvalidInput`` (422, field ``args_schema``, code ``invalid_schema``) when it is not a valid
    schema, uses a regex feature the linear-time engine lacks, or refers to anything outside itself."""
    if not isinstance(args_schema, dict):
        raise InvalidInput("args_schema must be a JSON object.", field="args_schema", code="invalid_schema")
    try:
        return jsonschema_rs.Draft202012Validator(
            args_schema, offline=True, validate_formats=False,
            pattern_options=jsonschema_rs.RegexOptions(size_limit=REGEX_SIZE_LIMIT, dfa_size_limit=REGEX_SIZE_LIMIT))
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        raise InvalidInput("args_schema is not a valid JSON Schema: " + _short(message.splitlines()[0]),
                           field="args_schema", code="invalid_schema") from exc


def _short(text: str) -> str:
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT - 1] + "…"
