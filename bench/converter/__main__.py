"""Throughput and memory of the Jenkinsfile converter.

Prints, for the test corpus (``tests/jenkinsfile/corpus``): files per second and total
time for Jenkinsfile -> JSON and for JSON -> Jenkinsfile (fresh and against the original),
and the peak memory of converting the whole corpus; then the time to read and print a
generated Jenkinsfile of about 5,000 lines. The target is the whole corpus in under a
second.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from libs.jenkinsfile import to_jenkinsfile, to_json

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "jenkinsfile" / "corpus"
ROUNDS = 5


def best_of(rounds: int, work: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def large_jenkinsfile(target_lines: int = 5000) -> str:
    """A plausible pipeline: many stages with steps, blocks, scripts and post sections."""
    stage = """\
        stage('Service {n}') {{
            when {{ anyOf {{ branch 'main'; changeset 'services/{n}/**' }} }}
            environment {{
                SERVICE = 'service-{n}'
                IMAGE = "registry.example.com/${{SERVICE}}:${{BUILD_NUMBER}}"
            }}
            steps {{
                // build and push service {n}
                dir('services/{n}') {{
                    sh 'make build'
                    sh "docker build -t ${{IMAGE}} ."
                    withCredentials([usernamePassword(credentialsId: 'reg',
                            usernameVariable: 'U', passwordVariable: 'P')]) {{
                        sh 'docker login -u $U -p $P registry.example.com && docker push $IMAGE'
                    }}
                }}
                script {{
                    def replicas = {n} % 3 + 1
                    echo "deploying ${{replicas}} replicas"
                }}
            }}
            post {{
                always {{ junit testResults: 'reports/{n}/*.xml', allowEmptyResults: true }}
            }}
        }}
"""
    lines_per_stage = stage.count("\n")
    count = max(1, (target_lines - 12) // lines_per_stage)
    body = "".join(stage.format(n=n) for n in range(count))
    return (
        "pipeline {\n    agent any\n    options { timestamps() }\n    stages {\n"
        + body
        + "    }\n    post {\n        cleanup { deleteDir() }\n    }\n}\n"
    )


def main() -> None:
    texts = [path.read_text() for path in sorted(CORPUS.glob("*.groovy"))]
    models = [to_json(text) for text in texts]
    count = len(texts)

    read = best_of(ROUNDS, lambda: [to_json(t) for t in texts])
    write = best_of(ROUNDS, lambda: [to_jenkinsfile(m) for m in models])
    pairs = list(zip(models, texts, strict=True))
    splice = best_of(ROUNDS, lambda: [to_jenkinsfile(m, original=t) for m, t in pairs])

    tracemalloc.start()
    for text in texts:
        to_jenkinsfile(to_json(text))
    _, corpus_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    large = large_jenkinsfile()
    large_model = to_json(large)
    large_read = best_of(3, lambda: to_json(large))
    large_write = best_of(3, lambda: to_jenkinsfile(large_model))
    edited = to_json(large)
    edited["pipeline"]["stages"][0]["name"] = "Renamed"
    large_splice = best_of(3, lambda: to_jenkinsfile(edited, original=large))
    tracemalloc.start()
    to_jenkinsfile(to_json(large))
    _, large_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"corpus: {count} Jenkinsfiles, {sum(len(t) for t in texts) / 1024:.0f} KiB")
    print(f"  Jenkinsfile -> JSON          {read * 1000:7.1f} ms  {count / read:8.0f} files/s")
    print(f"  JSON -> Jenkinsfile          {write * 1000:7.1f} ms  {count / write:8.0f} files/s")
    print(f"  JSON -> Jenkinsfile (kept)   {splice * 1000:7.1f} ms  {count / splice:8.0f} files/s")
    print(f"  peak memory, read + print    {corpus_peak / 2**20:7.1f} MiB")
    lines = large.count("\n")
    print(f"large Jenkinsfile: {lines} lines, {len(large) / 1024:.0f} KiB")
    print(f"  Jenkinsfile -> JSON          {large_read * 1000:7.1f} ms")
    print(f"  JSON -> Jenkinsfile          {large_write * 1000:7.1f} ms")
    print(f"  one edit, comments kept      {large_splice * 1000:7.1f} ms")
    print(f"  peak memory, read + print    {large_peak / 2**20:7.1f} MiB")


if __name__ == "__main__":
    main()
