"""Run the demo agents against a running Orchestra: they post proposals over HTTP and report decisions."""
import signal
import sys
import threading

from django.core.management.base import BaseCommand, CommandError

from governance.models import Agent, ApiToken
from governance.tokens import agent_token_create, token_revoke
from inbox import hooks
from inbox.demo.fleet import Fleet, wait_until_up
from inbox.demo.scenarios import AGENT_NAMES
from orchestra_client import OrchestraClient

TOKEN_NAME = "demo-fleet"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = ("Run the four demo agents (from seed_demo) against the HTTP API: they post realistic proposals "
            "and print each decision as it arrives. Ctrl-C stops them and prints a summary.")

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="Orchestra's URL")
        parser.add_argument("--rate", type=float, default=0.2, help="Proposals per second, all agents together")
        parser.add_argument("--duration", type=float, default=0, help="Seconds to run (0 = until stopped)")
        parser.add_argument("--agents", type=int, default=len(AGENT_NAMES),
                            help="Agent threads, cycling over the four demo agents (default: one each)")
        parser.add_argument("--max-pending", type=int, default=20,
                            help="Undecided proposals per agent before it pauses")
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for a repeatable run")

    def handle(self, *, base_url, rate, duration, agents, max_pending, seed, **options):
        if rate <= 0 or agents < 1:
            raise CommandError("--rate must be positive and --agents at least 1.")
        found = {a.name: a for a in Agent.objects.filter(name__in=AGENT_NAMES)}
        missing = [name for name in AGENT_NAMES if name not in found]
        if missing:
            raise CommandError(f"Demo agents missing ({', '.join(missing)}): run `manage.py seed_demo` first.")
        # SIGTERM (from run_stack or a service manager) stops the fleet like Ctrl-C: tokens get revoked.
        signal.signal(signal.SIGTERM, _interrupt)
        tokens: dict[str, str] = {}
        records: list[ApiToken] = []
        for name in AGENT_NAMES:
            record, raw = agent_token_create(agent=found[name], name=TOKEN_NAME)
            records.append(record)
            tokens[name] = raw
        extensions = [e for e in hooks.demos() if e.run is not None]  # e.g. the incident scenario
        extra = {a.name: a for a in Agent.objects.filter(name__in=[n for e in extensions for n in e.agents])}
        for extension in list(extensions):
            if any(name not in extra for name in extension.agents):
                self.say(f"Demo {extension.name}: its agents are missing (run `manage.py seed_demo`); skipped.")
                extensions.remove(extension)
        for name in {n for e in extensions for n in e.agents}:
            record, raw = agent_token_create(agent=extra[name], name=TOKEN_NAME)
            records.append(record)
            tokens[name] = raw
        fleet, stop_extensions, threads = None, threading.Event(), []
        try:
            with OrchestraClient(base_url, tokens[AGENT_NAMES[0]], timeout=5.0) as probe:
                if not wait_until_up(probe, timeout=60):
                    raise CommandError(f"Orchestra does not answer at {base_url}.")
            self.say(f"Demo fleet: {agents} agent thread(s), {rate:g} proposals/s in total, against {base_url}"
                     + (f" for {duration:g} s" if duration else " (Ctrl-C to stop)"))
            fleet = Fleet(base_url, tokens, rate=rate, workers=agents, max_pending=max_pending, seed=seed,
                          emit=self.say)
            for extension in extensions:
                thread = threading.Thread(target=extension.run, args=(base_url, tokens, stop_extensions, self.say),
                                          name=f"demo-{extension.name}", daemon=True)
                thread.start()
                threads.append(thread)
            fleet.run(duration)
        except KeyboardInterrupt:
            pass  # Fleet.run stops its threads on the way out
        finally:
            stop_extensions.set()
            for thread in threads:
                thread.join(timeout=15)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            for record in records:
                token_revoke(token=record)
            if fleet is not None:
                self.say("Demo fleet stopped; its tokens are revoked. Summary:")
                for line in fleet.summary():
                    self.say("  " + line)

    def say(self, line: str) -> None:
        self.stdout.write(line)
        sys.stdout.flush()
