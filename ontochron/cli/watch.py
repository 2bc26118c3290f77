"""``ontochron watch``: follow a directory that training writes checkpoints into, appending
each completely written checkpoint to the run's graph (docs/watch.md)."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from ontochron.cli.analyze import FORMATS, add_threshold_arguments


def register(subparsers: Any) -> None:
    """Add the ``watch`` sub-command."""
    from ontochron.cli.lineage import add_lineage_arguments
    from ontochron.cli.options import add_store_arguments, add_tensorboard_argument

    p = subparsers.add_parser(
        "watch", help="follow a checkpoint directory into the graph while training runs",
        description="Follow DIR: each checkpoint, once completely written, is analysed with "
                    "the others and the run's graph is brought to exactly the state a batch "
                    "ingest of them gives; one line per new checkpoint on stdout. SIGINT / "
                    "SIGTERM stop it after the checkpoint being written (exit 0).")
    p.add_argument("directory", metavar="DIR",
                   help="directory the checkpoints are written into (snapshot files or "
                        "per-checkpoint SAE folders with probe_activations.npz)")
    p.add_argument("--run", metavar="NAME", default=None,
                   help="run name and id in the graph (default: DIR's name)")
    p.add_argument("--format", choices=FORMATS, default="auto", help="input format")
    p.add_argument("--compat", choices=("reptimeline",), default=None,
                   help="reproduce reptimeline 0.2.2's definitions instead of native mode")
    g = p.add_argument_group("when a checkpoint is complete")
    g.add_argument("--settle", type=float, default=2.0, metavar="S",
                   help="seconds a checkpoint's files must keep their size and mtime "
                        "(default 2; 0 with --marker or write-then-rename)")
    g.add_argument("--marker", metavar="NAME", default=None,
                   help="a checkpoint folder is complete once it holds NAME, a file once "
                        "<file>NAME exists next to it (e.g. COMPLETE, .done)")
    g.add_argument("--poll", type=float, default=1.0, metavar="S",
                   help="seconds between scans when polling (default 1)")
    g.add_argument("--polling", action="store_true",
                   help="poll instead of file-system events (network file systems)")
    s = p.add_argument_group("when to stop (default: on SIGINT / SIGTERM)")
    s.add_argument("--once", action="store_true",
                   help="ingest what is in DIR (waiting for it to settle) and exit")
    s.add_argument("--until-step", type=int, default=None, metavar="N",
                   help="exit once the graph holds a checkpoint at step >= N")
    s.add_argument("--until-file", metavar="NAME", default=None,
                   help="exit once DIR/NAME exists (written by training when it ends) and "
                        "every checkpoint is in the graph")
    s.add_argument("--idle-exit", type=float, default=None, metavar="S",
                   help="exit after S seconds without a new checkpoint")
    a = p.add_argument_group("alerts (docs/watch.md)")
    a.add_argument("--alert", action="append", default=[], metavar="RULE=VALUE",
                   help="deaths=N, lineage-deaths=N, connections-broken=N (more than N at "
                        "one checkpoint) or concept-loses=F (a concept losing at least the "
                        "fraction F of its features); a line on stderr each; repeatable")
    a.add_argument("--on-alert", metavar="CMD", default=None,
                   help="command run (no shell) for each alert, with ONTOCHRON_ALERT_* "
                        "environment variables")
    a.add_argument("--exit-on-alert", action="store_true",
                   help="stop with exit code 3 after a checkpoint that raised an alert")
    p.add_argument("--batch-size", type=int, default=20_000, metavar="N",
                   help="rows per write transaction (default 20000)")
    p.add_argument("--quiet", action="store_true", help="no start-up line")
    add_threshold_arguments(p)
    add_lineage_arguments(p)
    add_tensorboard_argument(p)
    add_store_arguments(p)
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    from pathlib import Path

    from ontochron.errors import InputError

    if not Path(args.directory).is_dir():
        raise InputError("not a directory (watch follows the directory checkpoints are "
                         "written into)", args.directory)
    for name in ("settle", "poll"):
        if getattr(args, name) < 0 or (name == "poll" and args.poll == 0):
            raise InputError(f"--{name} must be {'>= 0' if name == 'settle' else '> 0'}, "
                             f"got {getattr(args, name)}")
    if args.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.idle_exit is not None and args.idle_exit <= 0:
        raise InputError(f"--idle-exit must be > 0, got {args.idle_exit}")


def run(args: argparse.Namespace) -> int:
    """Watch DIR until a stop condition; print one line per new checkpoint."""
    from pathlib import Path

    from ontochron.cli.analyze import ontology_config
    from ontochron.cli.lineage import lineage_options
    from ontochron.graph.store import config_from_args, open_store
    from ontochron.watch.alerts import AlertRule, parse_hook
    from ontochron.watch.follow import Follower
    from ontochron.watch.loop import Watcher, WatchOptions
    from ontochron.watch.ready import Scanner

    _check(args)
    rules = [AlertRule.parse(a) for a in args.alert]
    hook = parse_hook(args.on_alert)
    config = ontology_config(args)
    lopts = lineage_options(args)
    store_config = config_from_args(args)
    store = open_store(config=store_config)
    follower: Follower | None = None
    tb = None
    try:
        if args.tensorboard:
            from ontochron.tensorboard_scalars import ScalarWriter

            tb = ScalarWriter(args.tensorboard)
        follower = Follower(args.directory, store, run=args.run, format=args.format,
                            compat=args.compat, config=config, batch_size=args.batch_size,
                            lineage_options=lopts, tensorboard=tb, alerts=rules, hook=hook,
                            reopen=lambda: open_store(config=store_config))
        scanner = Scanner(Path(args.directory), settle=args.settle, marker=args.marker)
        watcher = Watcher(
            follower, scanner,
            WatchOptions(once=args.once, until_step=args.until_step,
                         until_file=args.until_file, idle_exit=args.idle_exit,
                         poll=args.poll, force_polling=args.polling,
                         exit_on_alert=args.exit_on_alert),
            on_change=lambda c: print(c.line(), flush=True),
            on_alert=lambda a: print(f"alert: {a.rule}: {a.message}", file=sys.stderr,
                                     flush=True),
            on_error=lambda m: print(f"ontochron watch: error: {m}", file=sys.stderr,
                                     flush=True))

        def stop(signum: int, frame: Any) -> None:
            if watcher.stop.is_set():  # a second signal: give up now (ingest is crash-safe)
                raise KeyboardInterrupt
            watcher.request_stop()

        previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            def started(mode: str) -> None:
                if not args.quiet:
                    print(f"watching {args.directory} into run {follower.run_id!r} ({mode}; "
                          f"{len(follower.known)} checkpoints in the graph)", file=sys.stderr,
                          flush=True)

            return watcher.run(on_start=started)
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
    finally:
        (follower.store if follower is not None else store).close()
        if tb is not None:
            tb.close()
