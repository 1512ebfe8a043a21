#!/usr/bin/env bash
# scripts/emit-compare.sh [base-rev] [head-rev] — proves a refactor changes no emitted byte (issue #19).
# Compiles every zoo and corpus fixture model (test/fixtures/{zoo,corpus}/**/*.onnx) at two revisions
# (default: main and HEAD, each in a temporary worktree, trees cached by commit in $EMIT_COMPARE_DIR):
# `kiln compile` with the default folding, `kiln estimate --json`, and three `--fold auto` designs;
# a model that fails records its error lines, so a changed error is a difference too. Then diffs the
# two trees. Exit 0 = byte-identical.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
base=$(git -C "$here" rev-parse "${1:-main}") || exit 2
head=$(git -C "$here" rev-parse "${2:-HEAD}") || exit 2
work=${EMIT_COMPARE_DIR:-/tmp/kiln-emit-compare}
mkdir -p "$work"

# emit <checkout> <tree>: compile every model from <checkout> into <tree>.
emit() {
  local src=$1 tree=$2 m name dev fps
  rm -rf "$tree"; mkdir -p "$tree"
  while read -r m; do
    name=${m//\//__}
    (cd "$src" && node bin/kiln.js compile "$here/$m" -o "$tree/$name" --force >/dev/null 2>"$tree/$name.err") \
      || grep -v '^\s*at ' "$tree/$name.err" | head -3 > "$tree/$name.fail"
    rm -f "$tree/$name.err"
    (cd "$src" && node bin/kiln.js estimate "$here/$m" --json > "$tree/$name.estimate.json" 2>/dev/null) || rm -f "$tree/$name.estimate.json"
  done < <(cd "$here" && find test/fixtures/zoo test/fixtures/corpus -name '*.onnx' | sort)
  # --fold auto designs (dataflow passes: fold-auto, width converters, FIFO sizing).
  while read -r m dev fps; do
    name=auto__${m//\//__}
    (cd "$src" && node bin/kiln.js compile "$here/$m" -o "$tree/$name" --force --fold auto --fps "$fps" --device "$dev" >/dev/null 2>"$tree/$name.err") \
      || grep -v '^\s*at ' "$tree/$name.err" | head -3 > "$tree/$name.fail"
    rm -f "$tree/$name.err"
  done <<'LIST'
test/fixtures/zoo/tfc_w1a1/model.onnx ice40up5k 1000
test/fixtures/zoo/cnv_small_w2a2/model.onnx xc7z020 1000
test/fixtures/zoo/lenet5_w4a4_qdq/model.onnx xc7z020 2000
LIST
  # Reports may name the output directory: normalise the tree root.
  grep -rlF "$tree" "$tree" 2>/dev/null | xargs -r sed -i "s#$tree#TREE#g"
  return 0
}

# tree <rev>: the emitted tree of a commit (cached).
tree() {
  local rev=$1 t=$work/tree-$1 wt=$work/src-$1
  if [ ! -d "$t" ]; then
    rm -rf "$wt"; git -C "$here" worktree add --detach "$wt" "$rev" >/dev/null 2>&1 || { echo "cannot check out $rev" >&2; exit 2; }
    ln -s "$here/node_modules" "$wt/node_modules"
    emit "$wt" "$t.tmp"; mv "$t.tmp" "$t"
    git -C "$here" worktree remove --force "$wt" >/dev/null 2>&1
  fi
}
tree "$base"; tree "$head"
b=$work/tree-$base h=$work/tree-$head
n=$(cd "$here" && find test/fixtures/zoo test/fixtures/corpus -name '*.onnx' | wc -l)
ok=$(ls -d "$h"/*/ | wc -l)
if diff -r "$b" "$h" > "$work/diff-$base-$head.txt"; then
  echo "emit-compare: byte-identical, ${base:0:8} vs ${head:0:8}: $n models, $ok compiled designs (incl. --fold auto) + estimates + failure lines"
else
  echo "emit-compare: DIFFERENT, ${base:0:8} vs ${head:0:8}, see $work/diff-$base-$head.txt"; head -20 "$work/diff-$base-$head.txt"; exit 1
fi
