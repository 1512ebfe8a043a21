# kiln — see README.md. All targets run on a fresh Debian 12 machine after `make setup`.
SHELL := /bin/bash
export ONNXRUNTIME_NODE_INSTALL := skip
KILN := node bin/kiln.js

.PHONY: setup build demo test test-e2e bench lint fuzz fuzz-onnx fuzz-cnn calibrate clean compress-report unrolled-luts sparse-cycles

node_modules: package.json package-lock.json
	npm ci
	@touch node_modules

.cache/deps-installed: scripts/install-deps.sh
	bash scripts/install-deps.sh
	@mkdir -p .cache && touch $@

setup: node_modules .cache/deps-installed

# dist/: src/ compiled to JavaScript and .d.ts (tsconfig.build.json) for the npm package; `npm pack` runs it too.
build: node_modules
	node scripts/build.mjs

demo: setup
	$(KILN) demo

# UPDATE_SNAPSHOTS=1 rewrites the golden files (test/golden/emit/, README "Tests") instead of comparing.
test: setup
	@mkdir -p .cache
	@status=0; npx vitest run $(if $(UPDATE_SNAPSHOTS),-u) --reporter=default --reporter=json --outputFile.json=.cache/vitest.json || status=$$?; \
	  node test/summary.mjs .cache/vitest.json || status=1; exit $$status

test-e2e: node_modules
	KILN_E2E=1 npx vitest run test/e2e

bench: node_modules
	npx tsx bench/run.ts

# Import layering (.dependency-cruiser.cjs, issue #19): a wrong-way import fails with the rule's name;
# the known violations still to be moved are listed in .dependency-cruiser-known-violations.json.
lint: node_modules
	npx tsc --noEmit -p .
	npx depcruise src bench --config .dependency-cruiser.cjs --ignore-known --output-type err

fuzz: node_modules
	FUZZ_N=$(or $(N),1000) npx vitest run test/sim/fuzz.test.ts

# Bad-input fuzzers (#16): structure-aware and byte-level ONNX mutations through inspect, exec and compile.
fuzz-onnx: node_modules
	FUZZ_ONNX_N=$(or $(N),100000) nice npx vitest run test/fuzz/onnx-fuzz.test.ts

# Random CNN/residual networks (#16): RTL == reference and cycles == estimate in Verilator.
fuzz-cnn: node_modules
	FUZZ_CNN_N=$(or $(N),1000) nice npx vitest run test/sim/fuzz-cnn.test.ts

# Resource-model calibration (docs/calibration.md): Yosys per case and family, niced, cached in
# .cache/synth (a re-run only synthesizes cases whose RTL changed); then the coefficient fit and the
# report. CAL_ARGS narrows the sweep, e.g. CAL_ARGS='--family ice40 --kinds MVU,Threshold --per-kind 10'.
calibrate: node_modules
	nice -n 10 npx tsx bench/calibrate.ts $(CAL_ARGS)
	npx tsx bench/calibrate.ts --fit
	npx tsx bench/calibrate.ts --report-only

clean:
	rm -rf .cache out dist

# docs/compression.md's table: every compression method on zoo mlp_fp32 and lenet5_fp32 (2,000 MNIST digits).
compress-report: node_modules
	npx tsx scripts/compress-report.ts

# docs/compression.md: Yosys LUTs of the fully unrolled mlp_pruned90 vs dense mlp_fp32 (int8), sampled rows (~1 h, nice).
unrolled-luts: node_modules
	nice -n 10 npx tsx scripts/unrolled-luts.ts

# docs/compression.md: mlp_pruned90 folded dense vs sparse MVU mode, estimated and Verilator-measured II.
sparse-cycles: node_modules
	nice -n 10 npx tsx scripts/sparse-cycles.ts
