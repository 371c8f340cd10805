# Developer shortcuts. The benchmarks are not part of the test suite: see README.md, "Performance".
PY ?= .venv/bin/python

.PHONY: test lint bench bench-delay bench-50k bench-micro bench-profile bench-chart

test:
	$(PY) -m pytest

# ruff, mypy (archiver/, spiders/, pipelines/) and import-linter (the layers and purity contracts in pyproject.toml).
lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(dir $(PY))lint-imports

# Full crawl (--workers 2) + re-run + one-process crawl + minimal Scrapy spider + sequential script, on loopback (nginx), N=3,000 and 10,000.
bench:
	$(PY) -m bench --n 3000 --n 10000 --repeat 2

# The same over a "real network": 50 ms per answer, 1,000 posts.
bench-delay:
	$(PY) -m bench --n 1000 --delay 0.05

# Memory at scale: archiver and baseline only (the sequential script would take minutes).
bench-50k:
	$(PY) -m bench --n 50000 --tools archiver,rerun,baseline

# The pure path (parse post + share page, pipelines, render) in posts/s per core.
bench-micro:
	$(PY) -m bench.micro

# py-spy profile of the archiver's full crawl at N=3,000, saved under bench/results/.
bench-profile:
	$(PY) -m bench.profile --n 3000

bench-chart:
	$(PY) -m bench.chart
