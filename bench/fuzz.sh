#!/usr/bin/env bash
# Coverage-guided fuzzing of the article path (bench/fuzz_article.py) for a bounded time.
#
#   bench/fuzz.sh [SECONDS]        default 300; needs: pip install -e '.[dev,fuzz]'
#
# Seeds: the sample store's articles. Findings (inputs that crash or break a rule) are written
# to bench/fuzz-findings/ (ignored by git); turn each into a test in tests/test_fuzz_findings.py.
# The corpus grown by the run is kept in bench/fuzz-corpus/ (ignored too) for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
python="${PYTHON:-.venv/bin/python}"
if ! "$python" -c "import atheris" 2>/dev/null; then
    echo "atheris is not installed: $python -m pip install -e '.[dev,fuzz]'" >&2
    exit 2
fi
mkdir -p bench/fuzz-findings bench/fuzz-corpus
find articles -name '*.md' -exec cp {} bench/fuzz-corpus/ \;
# -timeout: one input taking this long is a finding too (a file must not stall the scanner).
# -rss_limit_mb: so is one needing this much memory.
exec "$python" bench/fuzz_article.py \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix=bench/fuzz-findings/ bench/fuzz-corpus
