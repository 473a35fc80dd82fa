"""Serve Orchestra's MCP tools over stdio, for MCP clients that start their server as a process:

    python manage.py mcp_server --token <agent token>

The token is an agent's (``create_agent`` prints one), resolved again at every tool call like a bearer
token on the API: a revoked token or a suspended agent is refused from the next call on. Logs go to
stderr; stdout carries the protocol only.
"""
import anyio
from django.core.management.base import BaseCommand, CommandError

from governance.models import Agent
from governance.tokens import token_authenticate
from inbox.mcp.tools import build_server


class Command(BaseCommand):
    help = "Serve the MCP tools (propose_action, get_decision, wait_for_decision, …) over stdio as one agent."

    def add_arguments(self, parser):
        parser.add_argument("--token", required=True, help="The agent's API token (orc_a_…).")

    def handle(self, *args, token: str, **options):
        if not isinstance(token_authenticate(token), Agent):
            raise CommandError("Unknown or revoked token, or not an agent's: the MCP server acts as one agent.")
        anyio.run(build_server(token=token).run_stdio_async)
