"""Installed, not cloned: the built wheel alone, in a fresh venv, runs the demo and ``scrapy crawl`` from elsewhere.

The sdist and the wheel are built with ``python -m build`` (the wheel from the sdist, so both are
complete and no stale ``build/`` folder of the checkout can slip into the wheel), and the wheel is
installed into a new venv (pip may use the machine's cache); every command then runs from a folder
outside the checkout, with no PYTHONPATH, so only what the wheel holds is found.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import archiver
from archiver.devserver.server import SiteServer
from archiver.format.post import parse_post

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXPECTED = REPO / "demo" / "expected" / "_posts"


def clean_env(**extra: str) -> dict[str, str]:
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "SCRAPY_SETTINGS_MODULE", "http_proxy", "https_proxy", "no_proxy")
    env = {k: v for k, v in os.environ.items() if k not in drop and k.lower() not in drop}
    env.update(extra)
    return env


def run(*cmd: str | Path, cwd: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{cmd}: exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv holding the wheel built from this checkout, and its dependencies."""
    root = tmp_path_factory.mktemp("install")
    run(sys.executable, "-m", "build", "--outdir", root / "dist", REPO, cwd=root)
    wheels = list((root / "dist").glob("archiver-*.whl"))
    assert len(wheels) == 1, wheels
    assert len(list((root / "dist").glob("archiver-*.tar.gz"))) == 1
    run(sys.executable, "-m", "venv", root / "venv", cwd=root)
    run(root / "venv" / "bin" / "python", "-m", "pip", "install", "-q", wheels[0], cwd=root)
    return root / "venv" / "bin"


def assert_every_demo_post(archive: Path) -> None:
    expected = sorted(p.name for p in EXPECTED.glob("*.md"))
    assert len(expected) == 30
    assert sorted(p.name for p in (archive / "_posts").glob("*.md")) == expected
    for name in expected:
        want = parse_post((EXPECTED / name).read_text("utf-8"), name)
        got = parse_post((archive / "_posts" / name).read_text("utf-8"), name)
        assert (got.title, got.date, got.category) == (want.title, want.date, want.category), name


def test_the_wheel_runs_the_demo_from_another_folder(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run(installed / "archiver", "demo", "--output", tmp_path / "out", "--log-level", "WARNING", cwd=elsewhere)
    assert "30 new" in result.stdout
    assert "site-packages" in result.stdout  # the site served is the installed package data
    assert_every_demo_post(tmp_path / "out")


def test_the_wheel_holds_no_checkout_folders(installed: Path, tmp_path: Path) -> None:
    code = "import importlib.util as u; print(u.find_spec('demo'), u.find_spec('tests'), u.find_spec('bench'))"
    assert run(installed / "python", "-c", code, cwd=tmp_path).stdout.split() == ["None", "None", "None"]
    version = run(installed / "archiver", "--version", cwd=tmp_path).stdout
    assert version == f"archiver {archiver.__version__}\n"


def test_scrapy_crawl_from_another_folder(installed: Path, tmp_path: Path) -> None:
    find = "from archiver.cli.demo import default_site; print(default_site())"
    site = Path(run(installed / "python", "-c", find, cwd=tmp_path).stdout.strip())
    assert "site-packages" in site.parts
    with SiteServer(site, max_seconds=300) as server:
        run(
            installed / "scrapy", "crawl", "finews", "-a", "start_url=http://finews.withounder.com/",
            "-s", f"ARCHIVER_OUTPUT_DIR={tmp_path / 'out'}", "-s", "LOG_LEVEL=WARNING",
            cwd=tmp_path, SCRAPY_SETTINGS_MODULE="archiver.settings", http_proxy=server.proxy_url,
        )  # fmt: skip
    assert_every_demo_post(tmp_path / "out")


@pytest.mark.parametrize(
    ("option", "hint"),
    [(("--workers", "2"), "pip install 'archiver[redis]'"), (("--warc",), "pip install 'archiver[warc]'")],
)
def test_the_wheel_without_extras_says_what_to_install(
    installed: Path, tmp_path: Path, option: tuple[str, ...], hint: str
) -> None:
    # The fresh venv has the wheel's own dependencies only: no redis, scrapy-redis or warcio.
    result = subprocess.run(
        [str(installed / "archiver"), "crawl", "finews", "--output", str(tmp_path / "out"), *option],
        cwd=tmp_path,
        env=clean_env(http_proxy="http://127.0.0.1:9/"),  # nothing may be fetched; the discard port refuses
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 64, result.stderr[-2000:]
    assert result.stderr.strip().count("\n") == 0 and hint in result.stderr
    assert not (tmp_path / "out").exists()
