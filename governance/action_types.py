"""Action types' data contracts: the JSON Schema of each action's args, checked before it is saved
and applied to every proposal of that action.

A schema is checked against its own meta-schema (JSON Schema 2020-12) when it is saved (admin form and
``governance.services``), so a typo such as ``"type": "strng"`` is refused there, and never turns a
submission into a server error: a schema that is invalid anyway is reported as a 422 naming the
action, not a 500.
"""
from jsonschema import Draft202012Validator

from orchestra_site.errors import InvalidInput

from . import snapshot


def schema_errors(schema) -> list[str]:
    """What is wrong with ``schema`` as a JSON Schema 2020-12 document ([] when it is valid)."""
    if not isinstance(schema, dict):
        return ["The schema must be a JSON object."]
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema)]


def validate_args(action: str, args: dict) -> None:
    """Check ``args`` against the action type's JSON Schema (its data contract), if it has one.
    Raises ``InvalidInput`` (422) naming the JSON path, e.g. ``args.to_version``; an action type whose
    stored schema is itself invalid refuses its proposals with 422 (``field`` "action")."""
    schema = snapshot.current().action_types.get(action, (None, None))[1]
    if not schema:
        return
    try:
        check_against(schema, args, source=f"contract of {action}")
    except SchemaBroken as exc:
        raise InvalidInput(f"The contract of {action} is broken; ask an admin to fix its JSON Schema.",
                           field="action", code="invalid_contract") from exc


class SchemaBroken(Exception):
    """The schema itself cannot be applied (unknown type, bad ``$ref`` …)."""


def check_against(schema: dict, args, *, source: str) -> None:
    """Check ``args`` against the JSON Schema 2020-12 ``schema``. Raises ``InvalidInput`` (422) naming
    the first offending JSON path (``args.to_version``) and ``source`` in its message, or
    ``SchemaBroken`` when ``schema`` cannot be applied."""
    try:
        errors = sorted(Draft202012Validator(schema).iter_errors(args), key=lambda e: list(e.absolute_path))
    except Exception as exc:  # a broken schema raises anything (UnknownType, AttributeError, ref errors)
        raise SchemaBroken(str(exc)) from exc
    if errors:
        err = errors[0]
        parts = ["args", *map(str, err.absolute_path)]
        if err.validator == "required" and isinstance(err.instance, dict):
            parts += [name for name in err.validator_value if name not in err.instance][:1]
        path = ".".join(parts)
        raise InvalidInput(f"{path}: {err.message} ({source})", field=path)
