"""``python -m conformance.flows URL --token T [--idp entra] [--verbose]``: replay IdP flows."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from conformance.flows import FLOWS
from conformance.flows.runner import run_flow


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.flows",
        description="Replay what Entra ID, Okta and OneLogin send to a SCIM server.",
    )
    parser.add_argument("base_url", help="SCIM root, e.g. http://127.0.0.1:8000/scim/v2")
    parser.add_argument("--token", required=True, help="bearer token of the tenant to use")
    parser.add_argument(
        "--idp", choices=sorted(FLOWS), action="append", help="flow to run (default: all)"
    )
    parser.add_argument("--verbose", action="store_true", help="print every request and response")
    args = parser.parse_args(argv)

    failed = 0
    for idp in args.idp or sorted(FLOWS):
        results = run_flow(args.base_url, args.token, FLOWS[idp])
        for number, result in enumerate(results, 1):
            verdict = "PASS" if result.passed else "FAIL"
            print(f"{verdict} {idp:8} {number:2} {result.step.name}")
            if args.verbose or not result.passed:
                print("     " + result.describe().replace("\n", "\n     "))
        bad = sum(not result.passed for result in results)
        print(f"{idp}: {len(results) - bad}/{len(results)} steps passed")
        failed += bad
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
