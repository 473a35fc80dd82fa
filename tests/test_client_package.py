"""``orchestra_client`` is a package of its own: ``pip install ./orchestra_client`` builds a wheel that
needs only httpx, with the adapters' frameworks as extras. Built offline here, with the locked
setuptools (no build isolation), from a copy of the directory."""
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

from django.conf import settings

MODULES = {"__init__.py", "client.py", "errors.py", "signing.py", "review.py", "langgraph.py", "openai_agents.py"}


def build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    shutil.copytree(Path(settings.BASE_DIR) / "orchestra_client", source,
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--quiet", "-w", str(tmp_path / "dist"), str(source)], check=True, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("orchestra_client-*.whl")
    return wheel


def test_the_client_builds_as_a_wheel_that_needs_only_httpx(tmp_path):
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = Parser().parsestr(z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode())
    assert {f"orchestra_client/{m}" for m in MODULES} <= names
    assert not any(n.startswith(("inbox/", "governance/", "orchestra_site/")) or n.endswith("pyproject.toml")
                   for n in names)
    assert meta["Name"] == "orchestra-client"
    requires = meta.get_all("Requires-Dist")
    assert [r for r in requires if "extra ==" not in r] == ["httpx>=0.27"]
    assert set(meta.get_all("Provides-Extra")) == {"langgraph", "openai-agents"}
    assert any(r.startswith("langgraph") and 'extra == "langgraph"' in r for r in requires)
    assert any(r.startswith("openai-agents") and 'extra == "openai-agents"' in r for r in requires)


def test_the_installed_client_imports_from_its_own_site_without_the_server(tmp_path):
    wheel = build_wheel(tmp_path)
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", "--target",
                    str(site), str(wheel)], check=True, cwd=tmp_path)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import orchestra_client, orchestra_client.review; "
            "assert orchestra_client.__file__.startswith(sys.argv[1]), orchestra_client.__file__; "
            "assert 'django' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-I", "-c", code, str(site)], capture_output=True, text=True,
                         cwd=tmp_path, check=True)
    assert out.stdout.strip() == "ok"
