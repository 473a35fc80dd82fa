"""Logs an operator can ship: JSON lines in production format that parse, with the request id (taken
from X-Request-ID or made, and returned) and who acted; plain lines in development."""
import io
import json
import logging
import logging.config
import re

import pytest
from django.conf import settings

from orchestra_site.request_log import logging_config

pytestmark = pytest.mark.django_db


def configure(fmt: str) -> io.StringIO:
    """The logging configuration of format ``fmt``, its console handler writing to the buffer returned."""
    logging.config.dictConfig(logging_config(level="INFO", fmt=fmt))
    buffer = io.StringIO()
    [handler] = logging.getLogger().handlers
    handler.setStream(buffer)
    return buffer


@pytest.fixture
def json_logs():
    """The production logging configuration; a function returning the lines written so far, parsed."""
    buffer = configure("json")
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    logging.config.dictConfig(settings.LOGGING)


def request_lines(lines):
    return [line for line in lines if line["logger"] == "orchestra.requests"]


def test_every_line_is_a_json_object_with_the_fields(json_logs, agent_client):
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    agent_client.get("/api/v1/proposals", HTTP_X_REQUEST_ID="req-42",
                     HTTP_TRACEPARENT=f"00-{trace}-00f067aa0ba902b7-01")
    logging.getLogger("orchestra.test").warning("outside any request")
    lines = json_logs()
    [served] = request_lines(lines)
    assert served["level"] == "INFO" and served["message"].startswith("GET /api/v1/proposals 200")
    assert served["request_id"] == "req-42" and served["actor"] == "agent:deploy-bot"
    assert served["trace_id"] == trace
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", served["timestamp"])
    outside = next(line for line in lines if line["logger"] == "orchestra.test")
    assert (outside["level"], outside["request_id"], outside["actor"]) == ("WARNING", None, None)


def test_a_reviewer_is_named_on_the_line(json_logs, alice_client):
    alice_client.get("/api/v1/inbox/proposals")
    [served] = request_lines(json_logs())
    assert served["actor"] == "user:alice"


def test_a_traceback_stays_inside_its_line(json_logs):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("orchestra.test").exception("it failed")
    [line] = [line for line in json_logs() if line["logger"] == "orchestra.test"]
    assert "ValueError: boom" in line["exc_info"]


def test_the_request_id_is_returned_and_made_when_missing_or_unfit(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    made = client.get("/healthz")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    unfit = client.get("/healthz", HTTP_X_REQUEST_ID="has spaces\tand tabs")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", unfit)
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/healthz", HTTP_X_REQUEST_ID="x" * 201)["X-Request-ID"])


def test_development_lines_are_plain():
    buffer = configure("plain")
    try:
        logging.getLogger("orchestra.test").info("hello")
    finally:
        logging.config.dictConfig(settings.LOGGING)
    [line] = buffer.getvalue().splitlines()
    assert line.endswith("INFO orchestra.test [None None] hello")


def test_the_task_cluster_logs_at_info():
    assert logging.getLogger("django-q").getEffectiveLevel() <= logging.INFO


def test_a_refused_request_is_one_line_without_a_traceback(json_logs, client, alice):
    client.force_login(alice)
    before = len(json_logs())
    assert client.get("/governance/kill-switch/").status_code == 403
    lines = json_logs()[before:]
    assert [(line["logger"], line["message"].split(" ")[:3]) for line in lines] == [
        ("orchestra.requests", ["GET", "/governance/kill-switch/", "403"])]
    assert "exc_info" not in lines[0]


def test_a_server_error_keeps_its_traceback():
    buffer = configure("plain")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("django.request").error("Internal Server Error: /x", exc_info=True,
                                                      extra={"status_code": 500})
    finally:
        logging.config.dictConfig(settings.LOGGING)
    assert "Internal Server Error: /x" in buffer.getvalue() and "ValueError: boom" in buffer.getvalue()


@pytest.mark.parametrize("level, shown", [("INFO", False), ("DEBUG", True)])
def test_websocket_connects_are_debug_lines(level, shown):
    logging.config.dictConfig(logging_config(level=level, fmt="plain"))
    buffer = io.StringIO()
    logging.getLogger().handlers[0].setStream(buffer)
    try:
        logging.getLogger("uvicorn.error").info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5", "/ws/inbox/3/")
        logging.getLogger("websockets.server").info("connection open")
        logging.getLogger("uvicorn.error").info('%s - "WebSocket %s" 403', "127.0.0.1:5", "/ws/inbox/4/")
    finally:
        logging.config.dictConfig(settings.LOGGING)
    out = buffer.getvalue()
    assert ('DEBUG uvicorn.error [None None] 127.0.0.1:5 - "WebSocket /ws/inbox/3/" [accepted]' in out) is shown
    assert ("connection open" in out) is shown
    assert 'INFO uvicorn.error [None None] 127.0.0.1:5 - "WebSocket /ws/inbox/4/" 403' in out  # refused: kept


def test_uvicorn_access_lines_only_when_asked():
    assert logging_config(level="INFO", fmt="plain")["loggers"]["uvicorn.access"]["level"] == "WARNING"
    assert logging_config(level="INFO", fmt="plain", access_log=True)["loggers"]["uvicorn.access"]["level"] == "INFO"


def test_the_demo_stack_logs_only_refused_requests(json_logs, settings, alice):
    from django.test import Client

    settings.ORCHESTRA_REQUEST_LOG = "refused"  # what ./scripts/up sets without --access-log
    client = Client()
    client.force_login(alice)
    before = len(json_logs())
    assert client.get("/profile/").status_code == 200
    assert client.get("/governance/kill-switch/").status_code == 403
    lines = request_lines(json_logs()[before:])
    assert [line["message"].split(" ")[:3] for line in lines] == [["GET", "/governance/kill-switch/", "403"]]


def test_run_stack_asks_for_the_readable_console():
    from inbox.management.commands.run_stack import stack_env

    quiet = stack_env(host="127.0.0.1", port=8103, workers=1, access_log=False, base_url="u", fleet_rate=0.2)
    loud = stack_env(host="127.0.0.1", port=8103, workers=1, access_log=True, base_url="u", fleet_rate=0.2)
    assert (quiet["ORCHESTRA_REQUEST_LOG"], quiet["UVICORN_ACCESS_LOG"]) == ("refused", "false")
    assert (loud["ORCHESTRA_REQUEST_LOG"], loud["UVICORN_ACCESS_LOG"]) == ("all", "true")
