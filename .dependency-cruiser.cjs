// Import layering of kiln (issue #19, docs in README "Layout"): `make lint` runs
//   npx depcruise src bench --config .dependency-cruiser.cjs
// and fails with the rule's name on a wrong-way import. The one-way order:
//   cli → flow (and api/, the library's top) → {codegen, estimate, dataflow, lower, passes, sim, synth, bitstream, hil, compress,
//                 report, analysis} → exec → layers → {ir, onnx, io} → {diag, util, tools}
/** @type {import('dependency-cruiser').IConfiguration} */
const stages = 'codegen|estimate|dataflow|lower|passes|sim|synth|bitstream|hil|compress|report|analysis';
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'an import circle: the modules cannot be read (or changed) one at a time',
      from: {}, to: { circular: true } },
    { name: 'onnx-imports-ir-only', severity: 'error', comment: 'onnx/ decodes ONNX into ir/; running passes or the executor is flow/',
      from: { path: '^src/onnx/' }, to: { path: '^src/', pathNot: '^src/(onnx|ir|diag|util)/' } },
    { name: 'layers-import-ir-diag-util-only', severity: 'error', comment: 'a layer kind is defined by ir/, diag/ and util/ alone',
      from: { path: '^src/layers/' }, to: { path: '^src/', pathNot: '^src/(layers|ir|diag|util)/' } },
    { name: 'ir-imports-diag-util-only', severity: 'error', comment: 'ir/ is the bottom data model',
      from: { path: '^src/(ir|io)/' }, to: { path: '^src/', pathNot: '^src/(ir|io|diag|util)/' } },
    { name: 'base-imports-nothing-above', severity: 'error', comment: 'diag/, util/ and tools/ are used by everything and use nothing of kiln but each other',
      from: { path: '^src/(diag|util|tools)/' }, to: { path: '^src/', pathNot: '^src/(diag|util|tools)/' } },
    { name: 'exec-below-stages', severity: 'error', comment: 'exec/ runs graphs and layers; it knows nothing of the compile stages',
      from: { path: '^src/exec/' }, to: { path: `^src/(${stages}|flow|cli)/` } },
    { name: 'stages-below-flow', severity: 'error', comment: 'flow/ drives the stages; a stage never calls the driver or the CLI',
      from: { path: `^src/(${stages})/` }, to: { path: '^src/(flow|api|cli)/' } },
    { name: 'nothing-below-flow-imports-codegen-report-synth', severity: 'error',
      comment: 'codegen/, report/ and synth/ consume a compiled design; the stages that make it do not import them',
      from: { path: '^src/', pathNot: '^src/(cli|flow|api|codegen|report|synth)/' }, to: { path: '^src/(codegen|report|synth)/' } },
    { name: 'only-cli-imports-flow', severity: 'error', comment: 'flow/ is the top of the library, called by cli/ (and the API)',
      from: { path: '^src/', pathNot: '^src/(cli|flow|api)/' }, to: { path: '^src/(flow|api)/' } },
    { name: 'nothing-imports-cli', severity: 'error', comment: 'cli/ is the top; library code never imports it',
      from: { path: '^src/', pathNot: '^src/cli/' }, to: { path: '^src/cli/' } },
    { name: 'src-imports-no-tests-or-benches', severity: 'error',
      from: { path: '^src/' }, to: { path: '^(test|bench|scripts)/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^test/fixtures/depcruise/' },
  },
};
