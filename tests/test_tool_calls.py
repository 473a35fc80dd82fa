"""What a tool call says about itself, over the native API and the pages: framework tool names as
actions, the verdicts its tool accepts, the JSON Schema of its args, and every vote in the decision."""
import time

import pytest

from governance import services as governance_services
from governance.models import ActionCategory
from tests.conftest import PROPOSAL
from tests.factories import UserFactory

P = "/api/v1/proposals"


def submit(client, **fields):
    body = {**PROPOSAL, "risk": "medium", **fields}
    return client.post_json(P, body)


def decide(client, pid, **body):
    return client.post_json(f"{P}/{pid}/decision", body)


@pytest.fixture
def carol_client(platform_inbox):
    from governance import tokens
    from tests.conftest import TokenClient

    carol = UserFactory(username="carol")
    carol.groups.add(platform_inbox.reviewers)
    return TokenClient(tokens.user_token_create(user=carol)[1])


@pytest.mark.parametrize("name", ["delete_file", "post-to-slack", "postToSlack", "github:create_issue", "fs/delete",
                                  "ls", "deploy.rollback"])
def test_tool_names_are_accepted_as_actions_as_frameworks_name_them(agent_client, name):
    r = submit(agent_client, action=name)
    assert r.status_code == 201, r.json()
    assert r.json()["action"] == name


@pytest.mark.parametrize("name", ["delete file", "-rf", "", "tool;drop", "é"])
def test_other_action_names_are_refused(agent_client, name):
    r = submit(agent_client, action=name)
    assert r.status_code == 422
    assert r.json()["field"] == "action"


def test_policies_match_tool_names_with_their_action_pattern(agent_client, platform):
    governance_services.policy_create(by=None, name="No deleting", priority=1, action_pattern="delete_*",
                                      outcome="forbid")
    assert submit(agent_client, action="delete_file").status_code == 403
    assert submit(agent_client, action="post-to-slack").status_code == 201


def test_allowed_verdicts_default_to_all_four(agent_client):
    assert submit(agent_client).json()["allowed_verdicts"] == ["approve", "reject", "edit", "answer"]


def test_only_the_allowed_verdicts_are_accepted(agent_client, alice_client):
    p = submit(agent_client, allowed_verdicts=["reject", "approve", "approve"]).json()
    assert p["allowed_verdicts"] == ["approve", "reject"]
    for verdict, extra in (("edit", {"args": {"service": "x", "to_version": "1"}}), ("answer", {"comment": "hi"})):
        r = decide(alice_client, p["id"], verdict=verdict, **extra)
        assert r.status_code == 422
        assert (r.json()["code"], r.json()["field"], r.json()["allowed_verdicts"]) == (
            "verdict_not_allowed", "verdict", ["approve", "reject"])
    assert decide(alice_client, p["id"], verdict="approve").json()["status"] == "approved"


def test_an_unknown_verdict_in_allowed_verdicts_is_refused(agent_client):
    r = submit(agent_client, allowed_verdicts=["approve", "ignore"])
    assert r.status_code == 422 and r.json()["field"] == "allowed_verdicts.1"


def test_the_page_offers_only_the_allowed_verdicts(agent_client, alice, client):
    p = submit(agent_client, allowed_verdicts=["approve", "reject"]).json()
    client.force_login(alice)
    html = client.get(f"/proposals/{p['id']}/").content.decode()
    assert 'value="approve"' in html and 'value="reject"' in html
    assert 'value="edit"' not in html and 'value="answer"' not in html
    assert "Its tool accepts only: approve, reject." in html
    r = client.post(f"/proposals/{p['id']}/", {"verdict": "answer", "comment": "sneaky"})
    assert r.status_code == 422
    assert "This tool accepts only approve, reject; not answer." in r.content.decode()


SCHEMA = {"type": "object", "properties": {"path": {"type": "string", "pattern": "^/tmp/"}},
          "required": ["path"], "additionalProperties": False}


def test_a_broken_args_schema_is_refused(agent_client):
    r = submit(agent_client, action="delete_file", args={"path": "/tmp/a"}, args_schema={"type": "strng"})
    assert r.status_code == 422
    assert (r.json()["field"], r.json()["code"]) == ("args_schema", "invalid_schema")


def test_an_args_schema_regex_cannot_burn_the_servers_cpu(agent_client):
    """``^(a+)+$`` against 50,000 a's and a b backtracks for ever on Python's ``re``; the agent's
    schema runs on a linear-time engine, so the answer is an ordinary 422 at once."""
    evil = {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}}
    started = time.monotonic()
    r = submit(agent_client, action="delete_file", args={"s": "a" * 50_000 + "b"}, args_schema=evil)
    assert r.status_code == 422 and r.json()["field"] == "args.s"
    assert len(r.json()["detail"]) <= 400  # the message quotes the value, cut short
    assert time.monotonic() - started < 5  # not a timing test: without the guard this never returns
    assert submit(agent_client, action="delete_file", args={"s": "aaa"}, args_schema=evil).status_code == 201


@pytest.mark.parametrize("schema, why", [
    ({"type": "string", "pattern": "^(?=admin).*"}, "lookaround"),
    ({"type": "object", "patternProperties": {"(a)\\1": {}}}, "backreference"),
    ({"$ref": "http://169.254.169.254/latest/meta-data"}, "remote reference"),
    ({"type": "string", "pattern": "(a"}, "broken regex"),
])
def test_an_args_schema_the_server_will_not_run_is_invalid(agent_client, schema, why):
    r = submit(agent_client, action="delete_file", args={"path": "/tmp/a"}, args_schema=schema)
    assert r.status_code == 422, why
    assert (r.json()["field"], r.json()["code"]) == ("args_schema", "invalid_schema"), why


def test_a_missing_required_arg_is_named(agent_client):
    r = submit(agent_client, action="delete_file", args={}, args_schema=SCHEMA)
    assert r.status_code == 422 and r.json()["field"] == "args.path"


def test_proposed_args_must_keep_the_args_schema(agent_client):
    r = submit(agent_client, action="delete_file", args={"path": "/etc/passwd"}, args_schema=SCHEMA)
    assert r.status_code == 422 and r.json()["field"] == "args.path"
    assert "args schema of delete_file" in r.json()["detail"]


def test_an_edit_must_keep_the_args_schema(agent_client, alice_client):
    p = submit(agent_client, action="delete_file", args={"path": "/tmp/a"}, args_schema=SCHEMA).json()
    assert p["args_schema"] == SCHEMA
    r = decide(alice_client, p["id"], verdict="edit", args={"path": "/etc/passwd"})
    assert r.status_code == 422 and r.json()["field"] == "args.path"
    r = decide(alice_client, p["id"], verdict="edit", args={"path": "/tmp/b", "force": True})
    assert r.status_code == 422 and r.json()["field"] == "args"
    assert agent_client.get(f"{P}/{p['id']}").json()["status"] == "pending"
    assert decide(alice_client, p["id"], verdict="edit", args={"path": "/tmp/b"}).status_code == 200


def test_an_edit_must_keep_the_action_types_contract_too(agent_client, alice_client):
    governance_services.action_type_save(
        by=None, name="files.delete", category=ActionCategory.objects.get(slug="tactical_approach"),
        args_schema={"type": "object", "properties": {"path": {"type": "string", "maxLength": 12}}})
    p = submit(agent_client, action="files.delete", args={"path": "/tmp/a"}, args_schema=SCHEMA).json()
    r = decide(alice_client, p["id"], verdict="edit", args={"path": "/tmp/a-very-long-name"})
    assert r.status_code == 422 and r.json()["field"] == "args.path"
    assert "contract of files.delete" in r.json()["detail"]


def test_the_decision_carries_every_vote_with_who_and_why(agent_client, alice_client, carol_client):
    p = submit(agent_client, action="delete_file", args={"path": "/tmp/a"}).json()
    after_edit = decide(alice_client, p["id"], verdict="edit", args={"path": "/tmp/old"}, comment="only the old one")
    assert after_edit.json()["status"] == "pending"  # the editor cannot be the only approver
    decided = decide(carol_client, p["id"], verdict="approve", comment="agreed").json()
    assert decided["status"] == "edited_and_approved"
    votes = decided["decision"]["votes"]
    assert [(v["reviewer"], v["verdict"], v["comment"], v["args"]) for v in votes] == [
        ("alice", "edit", "only the old one", {"path": "/tmp/old"}), ("carol", "approve", "agreed", None)]
    assert all(v["created_at"].endswith("Z") for v in votes)
    # the agent sees the same, by id, in its list and on the long-poll
    assert agent_client.get(f"{P}/{p['id']}").json()["decision"]["votes"] == votes
    assert agent_client.get(P).json()["items"][0]["decision"]["votes"] == votes
    assert agent_client.get(f"{P}/{p['id']}/wait?timeout=0").json()["decision"]["votes"] == votes



def test_a_native_question_is_answered_never_approved(agent_client, alice_client):
    """``kind: question`` over the native API (what the LangGraph adapter sends for a free-text
    ``interrupt``): never auto-approved, answered with a comment, approve refused."""
    r = submit(agent_client, kind="question", action="agent.question", summary="Which region?", risk="low",
               confidence=1.0)
    assert r.status_code == 201 and (r.json()["kind"], r.json()["status"]) == ("question", "pending")
    assert decide(alice_client, r.json()["id"], verdict="approve").status_code == 422
    answered = decide(alice_client, r.json()["id"], verdict="answer", comment="eu-west-1")
    assert answered.status_code == 200 and answered.json()["decision"]["comment"] == "eu-west-1"


def test_a_question_cannot_allow_approve(agent_client):
    r = submit(agent_client, kind="question", action="agent.question", allowed_verdicts=["approve", "answer"])
    assert r.status_code == 422
    assert (r.json()["field"], r.json()["code"]) == ("allowed_verdicts", "verdict_not_allowed")
    assert submit(agent_client, kind="riddle").json()["field"] == "kind"
