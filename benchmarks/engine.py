"""Time ``run_engine`` on a synthetic period: ``python -m benchmarks.engine [n]``.

Prints figures (wall time of the engine alone, peak RSS of the process, line counts); it never
asserts timings. ``--lines-per-person`` sets order lines per distributor (default 3);
``--option key=value`` overrides a plan option (e.g. ``--option upline=order_time``).
"""

from __future__ import annotations

import argparse
import time

from benchmarks.synthetic import synthetic_inputs, synthetic_plan_doc
from commissions.engine.compute import run_engine
from commissions.engine.plan import parse_plan
from core.resources import peak_rss_mb


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--lines-per-person", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)

    doc = synthetic_plan_doc()
    for option in args.option:
        key, _, value = option.partition("=")
        doc["options"][key] = {"true": True, "false": False}.get(value, value)
    plan = parse_plan(doc)

    started = time.perf_counter()
    inputs = synthetic_inputs(args.n, args.lines_per_person, seed=args.seed)
    generated = time.perf_counter() - started
    rss_inputs = peak_rss_mb()
    started = time.perf_counter()
    result = run_engine(plan, inputs)
    elapsed = time.perf_counter() - started

    summary = result.summary
    print(f"distributors {inputs.n:,}  order lines {inputs.m:,}  options {args.option or '-'}")
    print(f"inputs generated in {generated:.2f} s, peak RSS then {rss_inputs:,.0f} MB")
    print(f"run_engine {elapsed:.2f} s, peak RSS {peak_rss_mb():,.0f} MB")
    print(f"result lines {len(result.lines):,} {summary['line_counts']}")
    print(
        f"paid {summary['total_paid'] / 100:,.2f} = {summary['payout_percent_of_cv']} % of CV"
        f" (cap applied: {summary['cap_applied']}); ranks {summary['paid_as_rank_counts']}"
    )


if __name__ == "__main__":
    main()
