#!/usr/bin/env bash
# scripts/emit-compare.sh [base-rev] [head-rev] — proves a refactor changes no emitted byte (issue #19).
# Compiles the zoo models (../shared/zoo/*/model.onnx) and the corpus models (../shared/corpus/**.onnx;
# KILN_SHARED overrides the directory) at two revisions (default: main and HEAD), each in its own
# temporary worktree with its OWN bundle cache (node_modules/.cache/kiln-cli: a bundle embeds the
# absolute paths of the checkout it was built from, so a shared cache runs one revision's files for
# both) and its own KILN_CACHE. Per model: `kiln compile` with the default folding and
# `kiln estimate --json`; plus three `--fold auto` designs. A model that fails records its error
# lines, so a changed error is a difference too. Then diffs the two trees.
# EMIT_COMPARE_SUBSET=N compiles a fixed, representative subset instead of the full set: all zoo
# models + every k-th corpus model, N in all, taken from the corpus models that compiled in the last
# full run ($EMIT_COMPARE_DIR/compiling.txt) when there is one. Exit 0 = byte-identical AND at least
# one design compiled.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${KILN_SHARED:-$(cd "$here/.." && pwd)/shared}
[ -d "$shared/zoo" ] || shared=/work/wt/shared
base=$(git -C "$here" rev-parse "${1:-main}") || exit 2
head=$(git -C "$here" rev-parse "${2:-HEAD}") || exit 2
subset=${EMIT_COMPARE_SUBSET:-0}
work=${EMIT_COMPARE_DIR:-/tmp/kiln-emit-compare}
mkdir -p "$work"

# The model list: zoo first, then the corpus; with a subset, every k-th corpus model.
models() {
  local zoo corpus n k
  zoo=$(find "$shared/zoo" -name model.onnx | sort)
  corpus=$(find "$shared/corpus" -name '*.onnx' | sort)
  if [ "$subset" -gt 0 ]; then
    [ -s "$work/compiling.txt" ] && corpus=$(grep "^$shared/corpus/" "$work/compiling.txt")
    n=$(( subset - $(echo "$zoo" | wc -l) )); [ "$n" -lt 1 ] && n=1
    k=$(( $(echo "$corpus" | wc -l) / n )); [ "$k" -lt 1 ] && k=1
    corpus=$(echo "$corpus" | awk -v k="$k" -v n="$n" 'NR % k == 1 && c < n { print; c++ }')
  fi
  printf '%s\n%s\n' "$zoo" "$corpus" | grep .
}
models > "$work/models.tmp"
key=$(md5sum < "$work/models.tmp" | cut -c1-8)  # trees are cached per commit and model list
list=$work/models-$key.txt; mv "$work/models.tmp" "$list"

# emit <checkout> <tree>: compile every model with the kiln of <checkout> into <tree>.
emit() {
  local src=$1 tree=$2 m name dev fps
  export KILN_CACHE=$src/.cache
  rm -rf "$tree"; mkdir -p "$tree"
  while read -r m; do
    name=${m#"$shared/"}; name=${name//\//__}
    (cd "$src" && nice node bin/kiln.js compile "$m" -o "$tree/$name" --force >/dev/null 2>"$tree/$name.err") \
      || grep -v '^\s*at ' "$tree/$name.err" | head -3 > "$tree/$name.fail"
    rm -f "$tree/$name.err"
    (cd "$src" && nice node bin/kiln.js estimate "$m" --json > "$tree/$name.estimate.json" 2>/dev/null) || rm -f "$tree/$name.estimate.json"
  done < "$list"
  # --fold auto designs (dataflow passes: fold-auto, width converters, FIFO sizing).
  while read -r m dev fps; do
    name=auto__${m//\//__}
    (cd "$src" && nice node bin/kiln.js compile "$shared/$m" -o "$tree/$name" --force --fold auto --fps "$fps" --device "$dev" >/dev/null 2>"$tree/$name.err") \
      || grep -v '^\s*at ' "$tree/$name.err" | head -3 > "$tree/$name.fail"
    rm -f "$tree/$name.err"
  done <<'LIST'
zoo/tfc_w1a1/model.onnx ice40up5k 1000
zoo/cnv_small_w2a2/model.onnx xc7z020 1000
zoo/lenet5_w4a4_qdq/model.onnx xc7z020 2000
LIST
  # Reports may name the output directory or the checkout: normalise both.
  grep -rlF -e "$tree" -e "$src" "$tree" 2>/dev/null | xargs -r sed -i -e "s#$tree#TREE#g" -e "s#$src#SRC#g"
  return 0
}

# tree <rev>: the emitted tree of a commit (cached per commit and model list).
tree() {
  local rev=$1 t=$work/tree-$1-$key wt=$work/src-$1 e
  if [ ! -d "$t" ]; then
    git -C "$here" worktree remove --force "$wt" >/dev/null 2>&1; rm -rf "$wt"
    git -C "$here" worktree add --detach "$wt" "$rev" >/dev/null 2>&1 || { echo "cannot check out $rev" >&2; exit 2; }
    # Its own node_modules: the packages linked one by one, the bundle cache (.cache) its own.
    mkdir "$wt/node_modules"
    for e in "$here"/node_modules/* "$here"/node_modules/.bin "$here"/node_modules/.package-lock.json; do
      ln -s "$(readlink -f "$e")" "$wt/node_modules/$(basename "$e")"
    done
    emit "$wt" "$t.tmp"; mv "$t.tmp" "$t"
    if [ "$subset" -eq 0 ]; then  # the models that compile, for later subsets
      while read -r m; do e=${m#"$shared/"}; [ -f "$t/${e//\//__}/manifest.json" ] && echo "$m"; done < "$list" > "$work/compiling.txt"
    fi
    git -C "$here" worktree remove --force "$wt" >/dev/null 2>&1; rm -rf "$wt"
  fi
}
tree "$base"; tree "$head"
b=$work/tree-$base-$key h=$work/tree-$head-$key
n=$(wc -l < "$list")
designs() { find "$1" -maxdepth 2 -name manifest.json | wc -l; }
nb=$(designs "$b") nh=$(designs "$h")
if [ "$nb" -eq 0 ] || [ "$nh" -eq 0 ]; then
  echo "emit-compare: FAILED, no models compiled (${base:0:8}: $nb designs, ${head:0:8}: $nh); see $b/*.fail"; exit 1
fi
if diff -r "$b" "$h" > "$work/diff-${base:0:8}-${head:0:8}-$key.txt"; then
  echo "emit-compare: byte-identical, ${base:0:8} vs ${head:0:8}: $n models, $nh designs (incl. --fold auto) + estimates + failure lines"
  echo "  models: $list; failed at both: $(ls "$h"/*.fail 2>/dev/null | wc -l)"
else
  echo "emit-compare: DIFFERENT, ${base:0:8} vs ${head:0:8} ($n models), see $work/diff-${base:0:8}-${head:0:8}-$key.txt"
  head -20 "$work/diff-${base:0:8}-${head:0:8}-$key.txt"; exit 1
fi
