#!/usr/bin/env bash
# The native extensions under AddressSanitizer + UndefinedBehaviorSanitizer, running the tests
# that drive the C++ code hardest: the random-lattice determinisation fuzz, the decoder's
# bad-input tests, the native n-gram counter's random corpora, bounded-memory estimation with
# every stream spilled, and concurrent decoding.
#
#   bash tools/sanitize.sh [PYTEST ARGS...]
#
# Builds in a copy of the tree (your in-place build is untouched), preloads the sanitizer
# runtime into Python (leak checking off: CPython's own allocations would drown it) and fails
# on the first report. Needs gcc's libasan/libubsan (Debian: gcc's own packages, present here).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"
git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - 2>/dev/null \
  | tar -xf - -C "$WORK"
cd "$WORK"
TINGXIE_SANITIZE=address,undefined python setup.py build_ext --inplace -q >/dev/null
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
TESTS=(tests/test_decoder_lattice_fuzz.py tests/test_decoder_errors.py tests/test_decoder_concurrency.py
       tests/test_lm_counting.py tests/test_lm_mkn.py)
if [ $# -gt 0 ]; then TESTS=("$@"); fi
python -m pytest -q -p no:cacheprovider "${TESTS[@]}"
