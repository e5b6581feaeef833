#!/usr/bin/env bash
# Build the compiled wire core with AddressSanitizer + UndefinedBehaviorSanitizer and
# run the wire-core and hardening tests against it. Zero sanitizer reports required.
#
#   fuzz/sanitize.sh                     the wire-core tests + tests/hardening (not Ray)
#   fuzz/sanitize.sh tests/test_x.py     other pytest arguments instead
#   PYTHON=.venv/bin/python fuzz/sanitize.sh
#
# The build happens in a temporary copy of the tree (setup.py build_ext --inplace
# there, KLAW_SANITIZE=address,undefined), so the in-place development module is
# never touched; the tests import that copy first through PYTHONPATH. Python is not
# built with ASan, so gcc's libasan is preloaded; PYTHONMALLOC=malloc sends every
# Python object through malloc so ASan sees their bounds; detect_leaks=0 because
# Python does not free everything at exit. Any report fails the run:
# -fno-sanitize-recover=all (setup.py) and halt_on_error make the first one fatal,
# and the output is searched for report headers as well.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
# An interpreter given by path must survive the cd into the build tree below
# (no realpath: it would resolve a venv's symlink to the base interpreter).
case $python in */*) python="$(cd "$(dirname "$python")" && pwd)/$(basename "$python")" ;; esac
start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir "$work/tree"
cp -r setup.py pyproject.toml README.md LICENSE MANIFEST.in ext src "$work/tree/"
rm -rf "$work/tree/src/"*.egg-info "$work/tree/ext/"*.c
find "$work/tree/src" \( -name '*.so' -o -name __pycache__ \) -prune -exec rm -rf {} +
echo "+ building the sanitized wire core in $work/tree"
( cd "$work/tree" && KLAW_SANITIZE=address,undefined "$python" setup.py build_ext --inplace ) \
    > "$work/build.log" 2>&1 || { tail -n 60 "$work/build.log"; exit 1; }
so=$(echo "$work"/tree/src/klaw_core/_wirecore_c*.so)
ldd "$so" | grep -E 'lib(asan|ubsan)' || { echo "the module does not link the sanitizer runtimes"; exit 1; }
echo "built in $(( $(date +%s) - start ))s: $so"

export PYTHONPATH="$work/tree/src${PYTHONPATH:+:$PYTHONPATH}"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so)"
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:print_summary=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export PYTHONMALLOC=malloc KLAW_REQUIRE_EXTENSIONS=1

# The module under test is the sanitized one, and the sanitizer is live: a
# deliberate heap overflow (through ctypes, whose memmove ASan intercepts) must be caught.
"$python" -c "import klaw_core._wirecore_c as c; assert c.__file__ == '$so', c.__file__; print('testing', c.__file__)"
if "$python" -c 'import ctypes; b = ctypes.create_string_buffer(8); ctypes.memmove(b, b"x" * 64, 64)' \
    > "$work/canary.log" 2>&1 || true; then :; fi
grep -q 'AddressSanitizer: heap-buffer-overflow' "$work/canary.log" \
    || { cat "$work/canary.log"; echo "AddressSanitizer did not catch a deliberate overflow"; exit 1; }
echo "+ sanitizer live (a deliberate overflow was caught)"

args=("$@")
if [ ${#args[@]} -eq 0 ]; then
    # The small-stack-thread case overflows a thread's stack inside msgspec on
    # purpose (a known msgspec limit, xfail): not a finding about our code.
    args=(tests/test_wirecore.py tests/test_wirecore_differential.py tests/test_wirecore_chooser.py
          tests/test_buffer_pool.py
          tests/runtime/channels/test_framing.py tests/hardening/test_hostile_frames.py
          tests/hardening/test_nesting_bombs.py tests/hardening/test_differential_random.py
          tests/hardening/test_fuzz_corpus.py tests/hardening/test_peek_consistency.py
          tests/hardening/test_pool_soak.py tests/hardening/test_threads.py
          -m "not ray and not slow" -k "not small_stack_thread")
fi
status=0
"$python" -m pytest -p no:cacheprovider -q "${args[@]}" 2>&1 | tee "$work/tests.log" || status=$?
if grep -En '(AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer)' "$work/tests.log"; then
    echo "sanitizer reports found"; exit 1
fi
[ "$status" -eq 0 ] || { echo "tests failed under the sanitizers"; exit "$status"; }
echo "sanitizers: zero reports ($(( $(date +%s) - start ))s)"
