#!/usr/bin/env bash
# Run the atheris targets for a bounded time each; keep any crash as a regression input.
#
#   fuzz/run.sh                      10 s per target, every target
#   fuzz/run.sh 600                  10 min per target
#   fuzz/run.sh 60 peek_header ...   chosen targets
#   PYTHON=.venv/bin/python fuzz/run.sh 10
#
# Each target starts from its checked-in corpus (fuzz/corpus/<target>/: seeds and
# past crashes, read only) plus a scratch corpus in a temporary directory, where
# libFuzzer keeps what it finds. A crash (an exception outside KlawWireError, the
# twins disagreeing, an input slower than 5 s, a signal) is copied into
# fuzz/corpus/<target>/ and the script fails; tests/hardening/test_fuzz_corpus.py
# replays every file there in the normal test run.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
seconds=${1:-10}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(split_frames frame_decoder peek_header decode_frames schema_decode nesting)
"$python" -c 'import atheris' 2>/dev/null || { echo "atheris is not installed: $python -m pip install atheris"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for target in "${targets[@]}"; do
    [ -f "fuzz/fuzz_$target.py" ] || { echo "no target fuzz/fuzz_$target.py"; exit 1; }
    mkdir -p "$work/$target" "fuzz/corpus/$target"
    echo "+ $target: ${seconds}s"
    if "$python" "fuzz/fuzz_$target.py" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
        -max_len=8192 -print_final_stats=1 -artifact_prefix="$work/$target-" \
        "$work/$target" "fuzz/corpus/$target" > "$work/$target.log" 2>&1; then
        grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' "$work/$target.log" | tr '\n' ' '
        echo "corpus: $(ls "$work/$target" | wc -l) new inputs"
    else
        tail -n 40 "$work/$target.log"
        for artifact in "$work/$target"-*; do
            [ -e "$artifact" ] || continue
            keep="fuzz/corpus/$target/$(basename "$artifact" | sed "s/^$target-//")"
            cp "$artifact" "$keep"
            echo "kept $keep; replay: $python -m pytest tests/hardening/test_fuzz_corpus.py -k $target"
        done
        failed+=("$target")
    fi
done
if (( ${#failed[@]} )); then echo "fuzz targets failed: ${failed[*]}"; exit 1; fi
echo "fuzzing: no crash in ${#targets[@]} targets x ${seconds}s"
