"""Command line: ``toolkit report``, ``toolkit sample``, ``toolkit params``.

Exit codes: 0 success, 1 a run that failed, 2 a bad config, parameter or input, 143 terminated.

Examples
--------
.. code-block:: console

    $ toolkit report data-samples/shop/report.yaml --out reports -p n_segments 6
    $ toolkit sample data-samples/shop --users 20000 --seed 2026
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from toolkit.errors import ToolkitError

__all__ = ["main"]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="toolkit", description="Audience Toolkit: segments and personas from audience data."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    rep = sub.add_parser("report", help="run the notebook templates and publish an HTML report")
    rep.add_argument("config", help="report config (YAML), e.g. data-samples/shop/report.yaml")
    rep.add_argument(
        "--out", help="folder receiving the run folder (default: the config's output)"
    )
    rep.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        default=[],
        help="override a notebook parameter (repeatable)",
    )
    rep.add_argument("--show-code", action="store_true", help="keep code cells in the HTML")
    rep.add_argument(
        "--timeout", type=float, help="seconds one notebook may run (default: config)"
    )

    smp = sub.add_parser("sample", help="write the seeded sample audience")
    smp.add_argument("out_dir", help="folder to write users.csv, events.parquet, ...")
    smp.add_argument("--users", type=int, default=20_000, help="number of users (default 20000)")
    smp.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")

    par = sub.add_parser("params", help="list the parameters of the notebook templates")
    par.add_argument("notebook", nargs="?", help="template name, e.g. 02-segments")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    from toolkit._startup import skip_slow_optional_imports

    skip_slow_optional_imports()
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "report":
            from toolkit.report import load_report_config, run_report

            cfg = load_report_config(args.config, [tuple(p) for p in args.parameter])
            result = run_report(
                cfg, out=args.out, show_code=args.show_code or None, timeout=args.timeout
            )
            if result.ok:
                return 0
            return 143 if "SIGTERM" in str(result.record.get("error")) else 1
        if args.command == "sample":
            from toolkit.samples import write_sample

            paths = write_sample(args.out_dir, n_users=args.users, seed=args.seed)
            for path in paths.values():
                print(path)
            return 0
        if args.command == "params":
            from toolkit.config import NOTEBOOKS
            from toolkit.report import notebook_parameters

            names = (
                [args.notebook] if args.notebook else [n.removesuffix(".ipynb") for n in NOTEBOOKS]
            )
            for name in names:
                print(name)
                for key, info in notebook_parameters(name).items():
                    print(
                        f"  {key}: {info['inferred_type_name']} = {info['default']}"
                        f"  {info['help']}"
                    )
            return 0
    except ToolkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
