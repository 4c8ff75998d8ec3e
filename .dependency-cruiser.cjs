// The layering of SSR, checked by `depcruise` (test/unit/structure.test.ts runs it):
// core's stages in the order of the game, each importing only the stages below it
// (src/core/*/README.md say what each owns); core never imports the editor or the
// CLI; no import cycle anywhere in src/.
/** Floors of src/core/, bottom to top (src/core/README.md draws the map). */
const FLOORS = [
  ['base'],
  ['artifact', 'policy'],
  ['sandbox', 'runs'],
  ['judge', 'environment', 'training'],
  ['agents', 'bootstrap'],
  ['selfplay'],
  ['report'],
];

const stageRules = FLOORS.flatMap((stages, floor) => {
  const allowed = FLOORS.slice(0, floor).flat();
  return stages.map((stage) => {
    const ok = [stage, ...allowed].join('|');
    return {
      name: `stage-order-${stage}`,
      comment: `src/core/${stage}/ may import only ${allowed.length ? allowed.map((s) => `${s}/`).join(', ') : 'nothing else in core'} (floors in .dependency-cruiser.cjs)`,
      severity: 'error',
      from: { path: `^src/core/${stage}/` },
      to: { path: '^src/core/', pathNot: `^src/core/(${ok})/` },
    };
  });
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle: give the shared piece its own file below both',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-is-editor-free',
      comment: 'src/core/ is the SSR domain: it imports neither vscode nor the CLI nor the extension',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^(src/cli|src/extension|src/cli\\.ts)|^vscode$|node_modules/@types/vscode' },
    },
    {
      name: 'core-in-stages',
      comment: 'every file of src/core/ belongs to a stage folder',
      severity: 'error',
      from: { path: '^src/core/[^/]+$' },
      to: {},
    },
    {
      name: 'cli-is-editor-free',
      comment: 'the CLI runs headless: it never imports vscode or the extension',
      severity: 'error',
      from: { path: '^src/(cli/|cli\\.ts)' },
      to: { path: '^src/extension/|^vscode$|node_modules/@types/vscode' },
    },
    ...stageRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.(py|go)$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6', 'cjs'],
  },
};

