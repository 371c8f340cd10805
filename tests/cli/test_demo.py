"""``archiver demo`` finds its site as package data, wherever it is run from."""

from __future__ import annotations

from pathlib import Path

from archiver.cli.demo import default_site
from tests.crawlrun import run_archiver


def test_the_demo_site_is_package_data_of_the_spiders(demo_site: Path) -> None:
    site = default_site()
    assert site is not None and site.resolve() == demo_site.resolve()
    assert (site / "finews.withounder.com" / "index.html").is_file()


def test_a_missing_site_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = run_archiver("demo", "--site", str(tmp_path / "nowhere"), "--output", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 64
    assert result.stderr.strip() == f"archiver: --site {tmp_path / 'nowhere'}: no such folder"
