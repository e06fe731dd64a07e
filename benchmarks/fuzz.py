"""A schema-driven fuzz of a running Tailor: at least 4,000 requests from its own OpenAPI document, counted by
status. Target: no answer of 500 (or any 5xx), no request left unanswered.

    python benchmarks/fuzz.py URL KEY [--requests 4000] [--seed 0] [--coco-uri URI]

URL is the service (`http://127.0.0.1:8000`), KEY a training key. Schemathesis generates, for every operation of
`URL/openapi.json`, requests that fit the schema and requests that break it, each sent with the key as
`Ocp-Apim-Subscription-Key` and `Training-Key` (tests/fuzzing.py). Before fuzzing it makes a Custom Vision project
and tag, and with `--coco-uri` (a COCO file the service may read, whose images point at nothing) a dataset and a
model, for path parameters to name. Models created during the run that have not ended are cancelled at the end.

Meant for a service of its own, e.g. the embedded default on a temporary data directory:

    TAILOR_DATA_DIR=$(mktemp -d) TAILOR_TRAINING_KEY=fuzz-key TAILOR_MAX_BUDGET_HOURS=0.001 \\
        TAILOR_FETCH_TIMEOUT_S=2 TAILOR_FETCH_RETRIES=0 tailor serve --port 8765
    python benchmarks/fuzz.py http://127.0.0.1:8765 fuzz-key

Exit status 1 when any request found a 5xx or no answer.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))  # _provenance, however started

from _provenance import code_version

from tests.fuzzing import Fuzzer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the running service, e.g. http://127.0.0.1:8000")
    parser.add_argument("key", help="a training key of that service")
    parser.add_argument("--requests", type=int, default=4000, help="at least this many requests (default 4000)")
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed of the first round (default 0)")
    parser.add_argument("--coco-uri", help="a COCO file the service may read: a dataset and a model are made from it")
    args = parser.parse_args()

    fuzzer = Fuzzer(args.url, args.key)
    fuzzer.prepare(args.coco_uri)
    result = fuzzer.run(args.requests, args.seed)

    print(f"code {code_version()}: {result.requests:,} requests over {result.operations} operations in "
          f"{result.seconds:.1f} s ({result.requests / max(result.seconds, 1e-9):.0f}/s); "
          f"{result.unsendable} generated requests the client could not send")
    print("| status | requests |\n|---|---|")
    for status, count in sorted(result.statuses.items(), key=lambda item: str(item[0])):
        print(f"| {status} | {count:,} |")
    print(f"5xx or no answer: {result.server_errors}")
    slowest = ", ".join(f"{label} {seconds:.1f} s" for label, seconds in result.seconds_by_operation.most_common(5))
    print(f"most time answering: {slowest}")
    for finding in result.findings[:30]:
        print(f"- {finding.status} {finding.operation}\n  {finding.curl}")
    if result.cancelled:
        print(f"cancelled {len(result.cancelled)} model(s) the run started: {', '.join(result.cancelled)}")
    return 1 if result.server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
