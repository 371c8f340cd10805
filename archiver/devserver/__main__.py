"""``python -m archiver.devserver ROOT``: the loopback site server from the command line."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from archiver.devserver.server import DEFAULT_MAX_SECONDS, SiteServer


def _fail_path(text: str) -> tuple[str, int]:
    needle, sep, status = text.rpartition("=")
    if not sep or not needle or not status.isdigit():
        raise argparse.ArgumentTypeError(f"expected SUBSTRING=STATUS, got {text!r}")
    return needle, int(status)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m archiver.devserver",
        description="Serve ROOT/<host>/... on 127.0.0.1 as an HTTP proxy (see the module docstring).",
    )
    ap.add_argument("root", help="folder holding one sub-folder per host")
    ap.add_argument("--port", type=int, default=0, help="port to bind (0: any free port)")
    ap.add_argument("--port-file", type=Path, help="write the bound port here (atomically)")
    ap.add_argument("--fail", type=float, default=0.0, help="probability of a 500/503 answer")
    ap.add_argument("--drop", type=float, default=0.0, help="probability of closing without an answer")
    ap.add_argument("--truncate", type=float, default=0.0, help="probability of sending half the body")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds to wait before every answer")
    ap.add_argument("--fail-first", action="store_true", help="the first request of each URL answers 503")
    ap.add_argument(
        "--fail-path",
        type=_fail_path,
        action="append",
        default=[],
        metavar="SUBSTRING=STATUS",
        help="requests whose path?query contains SUBSTRING always answer STATUS (repeatable)",
    )
    ap.add_argument("--seed", type=int, default=1, help="seed of the fault RNG")
    ap.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS, help="stop after this long")
    ap.add_argument("--log", type=Path, help="append 'status host path?query' per request to this file")
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return ap


def write_port_file(path: Path, port: int) -> None:
    """Write the port so a reader never sees a partial file: temp file in the same folder, then rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent or Path("."), prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    server = SiteServer(
        args.root,
        port=args.port,
        fail=args.fail,
        drop=args.drop,
        truncate=args.truncate,
        delay=args.delay,
        fail_first=args.fail_first,
        fail_paths=dict(args.fail_path),
        seed=args.seed,
        max_seconds=args.max_seconds,
        log_path=args.log,
        verbose=args.verbose,
    )
    # SIGTERM (from a test harness or `kill`) unwinds like Ctrl-C, so the `with` block cleans up.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with server:
        if args.port_file is not None:
            write_port_file(args.port_file, server.port)
        print(f"serving {args.root} on 127.0.0.1:{server.port}", flush=True)
        try:
            server.wait()
        except KeyboardInterrupt:
            print("siteserver: interrupted, stopping", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
