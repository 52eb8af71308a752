#!/usr/bin/env bash
# Run cells of one benchmark suite concurrently, one process per cell (e.g. the three Beauty full-protocol cells on
# one GPU: `recsys train --device auto` picks CUDA when there is one). Every cell is resumable: rerun the same
# command after an interruption and finished cells are skipped, interrupted ones continue from their last.pt.
#
#   benchmarks/concurrent.sh recsys benchmarks/suites/recsys-beauty-full.yaml              # every cell
#   benchmarks/concurrent.sh recsys benchmarks/suites/recsys-beauty-full.yaml mclrec-beauty-full cl4srec-beauty-full
#
# Logs: benchmarks/_work/<cell>.log. Exit status: 1 when a cell failed.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 graphcl|recsys SUITE.yaml [CELL ...]" >&2
    exit 2
fi
prog=$1; suite=$2; shift 2
case "$prog" in graphcl|recsys) ;; *) echo "$0: the program must be graphcl or recsys, got '$prog'" >&2; exit 2;; esac
if [ $# -eq 0 ]; then
    mapfile -t cells < <(python -c 'import sys; from graphcl.bench import load_suite; print("\n".join(load_suite(sys.argv[1]).cells))' "$suite")
else
    cells=("$@")
fi
mkdir -p benchmarks/_work
pids=()
for cell in "${cells[@]}"; do
    "$prog" bench "$suite" --only "$cell" --quiet > "benchmarks/_work/$cell.log" 2>&1 &
    pids+=($!)
    echo "$cell: started (log benchmarks/_work/$cell.log)"
done
status=0
for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then echo "${cells[$i]}: done"; else echo "${cells[$i]}: FAILED (see its log)"; status=1; fi
done
exit $status
