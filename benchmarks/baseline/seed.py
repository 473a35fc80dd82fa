"""Create the baseline's tables and its tokens: ``python -m benchmarks.baseline.seed TOKEN…`` with
``DJANGO_SETTINGS_MODULE=benchmarks.baseline.settings``; prints ``{"tokens": n}``."""
import hashlib
import json
import sys

import django


def main(tokens: list[str]) -> None:
    django.setup()
    from django.core.management import call_command

    from .models import Token

    call_command("migrate", run_syncdb=True, verbosity=0)
    Token.objects.bulk_create([Token(digest=hashlib.sha256(t.encode()).hexdigest(), name=f"agent-{i}")
                               for i, t in enumerate(tokens)], ignore_conflicts=True)
    print(json.dumps({"tokens": Token.objects.count()}))


if __name__ == "__main__":
    main(sys.argv[1:])
