#!/usr/bin/env bash
# `dvc repro -f --single-item download@imdb` (the stage, then DVC hashing and caching its output) from an empty
# cache, in clones of this project at two revisions, alternating. MIRROR: a folder with the archive and its
# SHA256SUMS (docs/results/download_extract.py writes one in IMDB's original layout).
#   bash docs/results/download_dvc_timing.sh /tmp/extract 366fdd3 7033ecc "1 2"
set -euo pipefail
mirror=$1 old=$2 new=$3 reps=${4:-1}
repo=$(git rev-parse --show-toplevel) work=$(mktemp -d)
export PATH="$repo/.venv/bin:$PATH" RNNLAB_DATA_MIRROR=$mirror
for rev in "$old" "$new"; do git clone -q "$repo" "$work/$rev" && git -C "$work/$rev" checkout -q "$rev"; done
for rep in $reps; do
  for rev in "$old" "$new"; do
    cd "$work/$rev" && rm -rf data/imdb/raw .dvc/cache
    start=$(date +%s.%N)
    dvc repro -f --single-item download@imdb > "$work/$rev.out" 2>&1
    end=$(date +%s.%N)
    printf "run %s %s: %.1f s, cache files %s  %s\n" "$rep" "$rev" "$(echo "$end - $start" | bc)" \
      "$(find .dvc/cache -type f | wc -l)" "$(grep wrote "$work/$rev.out")"
  done
done
du -sh "$work/$old/.dvc/cache" "$work/$new/.dvc/cache" "$work/$old/data/imdb/raw" "$work/$new/data/imdb/raw"
rm -rf "$work"
