"""`floorboard`: the one command-line program for everything a person runs.

    floorboard demo                     the whole product on a simulated center, no servers needed
    floorboard web                      the pages and the JSON API (gunicorn)
    floorboard engine [--check]         aggregator + engine tick + archiver (or: is it alive?)
    floorboard ingest simulate|replay FILE|mqtt
    floorboard import schedule|agents|forecast FILE [--dry-run]   CSV imports (docs/imports.md)
    floorboard bench staffing|pipeline  the benchmark scripts in bench/
    floorboard users|tokens|kiosk …     sign-in users, API tokens, wallboard kiosk links (docs/security.md)

Settings come from FLOORBOARD_* environment variables (see README); a bad value stops the
command at once with a message naming it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from floorboard.config import ConfigError, Settings, load_settings

log = logging.getLogger("floorboard")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # APScheduler logs every run at INFO; every two seconds that drowns everything else.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="floorboard", description="Real-time contact-center monitoring.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run everything on a simulated center (embedded Redis if none is set)")
    demo.add_argument("--agents", type=int, default=40, help="simulated agents (default 40)")
    demo.add_argument("--seed", type=int, default=1, help="simulation seed (default 1)")
    demo.add_argument("--no-backfill", action="store_true", help="start the day now instead of replaying today so far")

    web = sub.add_parser("web", help="serve the pages and /api/v1 with gunicorn")
    web.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    web.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")

    engine = sub.add_parser("engine", help="aggregate events, tick the metrics, archive closed intervals")
    engine.add_argument("--check", action="store_true", help="exit 0 if a running engine ticked recently, else 1")

    ingest = sub.add_parser("ingest", help="feed events from a source into the pipeline")
    isub = ingest.add_subparsers(dest="source", required=True)
    sim = isub.add_parser("simulate", help="a simulated contact center")
    sim.add_argument("--agents", type=int, default=40)
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--speed", type=float, default=1.0,
                     help="simulated seconds per real second (default 1; above 1 the simulation runs ahead of "
                          "the clock, and events more than FLOORBOARD_FUTURE_TOLERANCE_S ahead are rejected)")
    sim.add_argument("--backfill", action="store_true", help="first replay today so far at once, as the demo does")
    sim.add_argument("--schedule", metavar="FILE",
                     help="a schedule CSV (docs/imports.md) the agents follow instead of generated shifts")
    sim.add_argument("--roster", metavar="FILE", help="an agents CSV giving the scheduled agents' skills")
    rep = isub.add_parser("replay", help="a JSON-lines file of v1 events")
    rep.add_argument("file")
    rep.add_argument("--speed", type=float, default=0.0, help="0 (default): as fast as possible; 1: real time; N: N× faster")
    isub.add_parser("mqtt", help="subscribe to FLOORBOARD_MQTT_TOPIC on FLOORBOARD_MQTT_URL")

    imp = sub.add_parser("import", help="import a schedule, the roster or a forecast from CSV (docs/imports.md)")
    kinds = imp.add_subparsers(dest="kind", required=True)
    for kind, text in (("schedule", "activity segments per agent and day; each day in the file is replaced"),
                       ("agents", "the roster: name, team, supervisor and skills per agent"),
                       ("forecast", "calls and AHT per queue and interval; each queue's day in the file is replaced")):
        k = kinds.add_parser(kind, help=text)
        k.add_argument("file")
        k.add_argument("--dry-run", action="store_true", help="only check the file; import nothing")
        if kind == "schedule":
            k.add_argument("--activities", default=None, metavar="NAMES",
                           help="comma-separated activity names allowed (default: the configured ones, "
                                "open,break,lunch,meeting,training,off plus the settings file's [adherence] additions)")
        if kind == "agents":
            k.add_argument("--merge", action="store_true",
                           help="add or update the file's agents instead of replacing the whole roster")

    from floorboard import auth_cli

    auth_cli.add_parsers(sub)

    bench = sub.add_parser("bench", help="run a benchmark script from bench/")
    bench.add_argument("name", choices=["staffing", "pipeline", "engine", "web"])
    bench.add_argument("args", nargs=argparse.REMAINDER)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"floorboard: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        return _dispatch(args, settings)
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from floorboard import commands

    if args.command == "demo":
        return commands.demo(settings, agents=args.agents, seed=args.seed, backfill=not args.no_backfill)
    if args.command == "web":
        return commands.web(settings, workers=args.workers, threads=args.threads)
    if args.command == "engine":
        return commands.engine_check(settings) if args.check else commands.engine(settings)
    if args.command == "ingest":
        adapter = commands.make_adapter(settings, args)
        return asyncio.run(commands.ingest(settings, adapter))
    if args.command == "import":
        return commands.import_file(settings, args)
    if args.command in ("users", "tokens", "kiosk"):
        from floorboard import auth_cli

        return auth_cli.dispatch(args, settings)
    if args.command == "bench":
        return commands.bench(args.name, args.args)
    raise AssertionError(args.command)


if __name__ == "__main__":
    raise SystemExit(main())
