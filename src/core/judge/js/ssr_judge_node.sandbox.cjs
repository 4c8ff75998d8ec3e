// SSR's judge reporter for Node runners (node:test and mocha): records each
// test's outcome from the runner's own result events and writes it to a
// channel outside the test log, in the records of ../py/ssr_judge_pytest.py.
//
// SSR's runner installs this file in a root-owned folder the test user cannot
// write and preloads it into every node process the test script starts
// (NODE_OPTIONS=--require=..., ahead of whatever NODE_OPTIONS the environment
// had): it runs before any repository code. The channel is the pipe whose
// write end the root runner passed as an open descriptor (SSR_REPORTER_FD).
//
// What it listens to:
//   node:test  the TestsStream the runner reports through (its test:start,
//              test:pass and test:fail events, the same objects node's own
//              reporters read), found on its first event; the file a test is
//              in is the process's main script (node FILE, or a child of
//              node --test), and the parent of node --test records nothing
//              (its children do, in their own process).
//   mocha      the Runner's pass, fail, pending and end events, attached when
//              Runner#run starts (the Runner class is caught as mocha's lib
//              loads it, before any test file).
// Records (one JSON object a line; "pid" on each):
//   {"t": "load", "ident": {...}}   when a runner session starts in a process
//   {"t": "start", "plugins": [...]}
//   {"t": "phase", "id": ID, "when": "call", "outcome": O}   O passed, failed or skipped
//   {"t": "collect", "id": FILE, "outcome": "failed"}        a node:test file that died before any test reported
//   {"t": "end", "plugins": [...], "ident": {...}}           mocha's end event; node:test at process exit
// Ids are "FILE::title > title", FILE relative to the working folder: the ids
// SSR's bootstrap parsers write for node:test and mocha. "ident" names the
// functions a test's outcome passes through (assert's comparisons, node:test's
// entry points, the event emitter, mocha's runner): one replaced between the
// preload and the end shows in the end record.
//
// docs/judging.md says what this sees and what it cannot: tested code runs in
// the same process and can reach this reporter too.
'use strict';

const fs = require('fs');
const path = require('path');
const Module = require('module');
const events = require('events');

const FD = Number.parseInt(process.env.SSR_REPORTER_FD || '', 10);
const ME = __filename;
const writeSync = fs.writeSync;
// The channel is the pipe the runner made (its inode in SSR_REPORTER_INO): a process
// that did not inherit it may hold another file under the same number (one of
// node's own pipes, say), and must not write there.
const OPEN = (() => {
  try {
    const st = fs.fstatSync(FD);
    return Number.isInteger(FD) && st.isFIFO() && String(st.ino) === process.env.SSR_REPORTER_INO;
  } catch {
    return false;
  }
})();
const stringify = JSON.stringify;
const toSource = Function.prototype.toString;
const apply = Reflect.apply;
const cwd = process.cwd();

function emit(record) {
  if (!OPEN) return;
  record.pid = process.pid;
  try {
    writeSync(FD, stringify(record) + '\n');
  } catch {
    // a record that cannot be written is lost: the runner then sees an incomplete session
  }
}

/** A short, stable name for a function: its name and a hash of its source. */
function fingerprint(fn) {
  if (typeof fn !== 'function') return `not-a-function:${typeof fn}`;
  let src = '';
  try {
    src = apply(toSource, fn, []);
  } catch {
    src = '?';
  }
  let h = 2166136261;
  for (let i = 0; i < src.length; i++) h = Math.imul(h ^ src.charCodeAt(i), 16777619) >>> 0;
  return `${fn.name || '?'}:${h.toString(16)}`;
}

/** The functions watched, as they were when this file loaded (or when mocha's lib did). */
const watched = new Map();

function watch(spec, get, also) {
  try {
    const fn = get();
    watched.set(spec, { get, fn, ok: new Set([fn, ...(also || [])]), print: fingerprint(fn) });
  } catch (err) {
    watched.set(spec, { get, fn: undefined, ok: new Set(), print: `missing:${err && err.name}` });
  }
}

function identAtLoad() {
  const out = {};
  for (const [spec, w] of watched) out[spec] = w.print;
  return out;
}

/** The same names now: a function that is not the one watched is "replaced". */
function identNow() {
  const out = {};
  for (const [spec, w] of watched) {
    let now;
    try {
      now = w.get();
    } catch (err) {
      out[spec] = `missing:${err && err.name}`;
      continue;
    }
    out[spec] = w.ok.has(now) ? w.print : `replaced:${fingerprint(now)}`;
  }
  return out;
}

const ASSERTS = ['ok', 'equal', 'notEqual', 'deepEqual', 'notDeepEqual', 'strictEqual', 'notStrictEqual', 'deepStrictEqual', 'notDeepStrictEqual', 'throws', 'doesNotThrow', 'rejects', 'doesNotReject', 'match', 'doesNotMatch', 'fail', 'ifError'];
const TEST_API = ['test', 'describe', 'it', 'before', 'after', 'beforeEach', 'afterEach'];

/** node:assert's comparisons and node:test's entry points, as they are before any repository code. */
function watchNode() {
  for (const mod of ['assert', 'assert/strict']) {
    const a = require(mod);
    watch(`node:${mod}`, () => require(mod));
    for (const name of ASSERTS) if (typeof a[name] === 'function') watch(`node:${mod}.${name}`, () => require(mod)[name]);
  }
  let nodeTest;
  try {
    nodeTest = require('node:test');
  } catch {
    return; // a node without node:test
  }
  for (const name of TEST_API) if (typeof nodeTest[name] === 'function') watch(`node:test.${name}`, () => require('node:test')[name]);
}
const origEmit = events.EventEmitter.prototype.emit;

/** Preloads besides this one (NODE_OPTIONS and the command line): harness, as a pytest plugin is. */
function preloads() {
  const args = [...(process.env.NODE_OPTIONS || '').split(/\s+/), ...process.execArgv];
  const out = [];
  for (let i = 0; i < args.length; i++) {
    const m = /^(--require|-r|--import|--loader|--experimental-loader)(?:=(.*))?$/.exec(args[i]);
    if (!m) continue;
    const value = m[2] !== undefined ? m[2] : args[++i];
    if (value && path.resolve(value) !== ME) out.push({ key: `node-preload=${m[1]} ${value}`, file: null });
  }
  return out;
}

let session = false;
const plugins = () => [{ key: 'ssr_judge_node', file: ME }, ...preloads()];

function startSession() {
  if (session) return false;
  session = true;
  emit({ t: 'load', ident: identAtLoad() });
  emit({ t: 'start', plugins: plugins() });
  return true;
}

let ended = false;
function endSession() {
  if (!session || ended) return;
  ended = true;
  emit({ t: 'end', plugins: plugins(), ident: identNow() });
}

const phase = (id, outcome) => emit({ t: 'phase', id, when: 'call', outcome });

// ---- node:test -------------------------------------------------------------

const mainFile = () => (process.argv[1] ? path.relative(cwd, path.resolve(process.argv[1])) : '');
const isTestParent = () => process.execArgv.includes('--test') || process.argv.includes('--test');

/** Follows one TestsStream: titles by nesting from test:start, outcomes from test:pass and test:fail. */
function followTests(stream) {
  const file = mainFile();
  const stack = [];
  const leafOf = (data) => {
    const n = Number(data.nesting) || 0;
    return `${file}::${[...stack.slice(0, n), String(data.name)].join(' > ')}`;
  };
  stream.on('test:start', (data) => {
    const n = Number(data.nesting) || 0;
    stack.length = n;
    stack[n] = String(data.name);
  });
  const done = (data, failed) => {
    const skipped = data.skip !== undefined || data.todo !== undefined;
    phase(leafOf(data), skipped ? 'skipped' : failed ? 'failed' : 'passed');
  };
  stream.on('test:pass', (data) => done(data, false));
  stream.on('test:fail', (data) => done(data, true));
}

let trapped = false;
let mochaSeen = false;
/** Finds the runner's own emitter on its first event: node:test's TestsStream, or a mocha Runner mocha's lib was not seen loading (mocha 12 is ES modules). */
function trap(type) {
  if (!trapped && typeof type === 'string' && this && this.constructor) {
    if (type.startsWith('test:') && this.constructor.name === 'TestsStream') {
      trapped = true;
      if (!isTestParent() && startSession()) followTests(this); // before this event is dispatched: it reaches the new listeners too
    } else if (type === 'start' && !mochaSeen && isMochaRunner(mochaClass(this.constructor))) {
      trapped = mochaSeen = true;
      watchMocha(mochaClass(this.constructor)); // late: after the test files loaded
      followMocha(this);
    }
    if (trapped && events.EventEmitter.prototype.emit === trap) events.EventEmitter.prototype.emit = origEmit;
  }
  return apply(origEmit, this, arguments);
}
function installTrap() {
  watch('events.EventEmitter.prototype.emit', () => events.EventEmitter.prototype.emit, [trap]);
  events.EventEmitter.prototype.emit = trap;
}

let wantsNodeTest = false;
function onExit(code) {
  if (session) {
    endSession();
  } else if (wantsNodeTest && code !== 0 && !isTestParent() && mainFile()) {
    // The file died before node:test reported anything (an import that throws): it failed, as the parser says.
    startSession();
    emit({ t: 'collect', id: mainFile(), outcome: 'failed' });
    endSession();
  }
}

// ---- child processes --------------------------------------------------------

// node does not hand descriptors beyond stdio to the processes it spawns: a runner
// started through npx, pnpm exec or yarn, and each file node --test runs in a child,
// would lose the channel. Every spawn of this process passes it on, at its number.
function passChannel(ChildProcess) {
  const spawn = ChildProcess.prototype.spawn;
  ChildProcess.prototype.spawn = function spawnWithChannel(options) {
    if (options && typeof options === 'object') {
      let stdio = options.stdio === undefined ? 'pipe' : options.stdio;
      if (typeof stdio === 'string') stdio = [stdio, stdio, stdio];
      if (Array.isArray(stdio) && (stdio.length <= FD || stdio[FD] == null)) {
        stdio = [...stdio];
        for (let i = 0; i < FD; i++) if (stdio[i] == null) stdio[i] = i < 3 ? 'pipe' : 'ignore';
        stdio[FD] = FD;
        options = { ...options, stdio };
      }
    }
    return apply(spawn, this, [options]);
  };
}

// ---- mocha -----------------------------------------------------------------

/** mocha's id of a test or hook: its file and its title path (mocha's root suite has no title). */
function mochaId(t) {
  const file = path.relative(cwd, t.file || (t.parent && t.parent.file) || '');
  const titles = typeof t.titlePath === 'function' ? t.titlePath() : [t.title];
  return `${file}::${[...titles.slice(0, -1).filter((x) => String(x)), String(titles[titles.length - 1])].join(' > ')}`;
}

function followMocha(runner) {
  if (!startSession()) return;
  runner.on('pass', (t) => phase(mochaId(t), 'passed'));
  runner.on('fail', (t) => phase(mochaId(t), 'failed'));
  runner.on('pending', (t) => phase(mochaId(t), 'skipped'));
  runner.on('test end', (t) => {
    if (t && t.state === 'failed') phase(mochaId(t), 'failed');
  });
  runner.once('end', endSession);
}

/** The class in a prototype chain that carries mocha's Runner constants (a parallel or custom runner extends it). */
function mochaClass(C) {
  for (let c = C; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) if (isMochaRunner(c)) return c;
  return undefined;
}

function isMochaRunner(x) {
  return typeof x === 'function' && x.constants && x.constants.EVENT_TEST_FAIL === 'fail' && typeof x.prototype.run === 'function' && typeof x.prototype.runTests === 'function';
}

function watchMocha(Runner) {
  const P = Runner.prototype;
  // emit is the event emitter's until someone gives Runner its own (this file's trap, while it waits, included).
  for (const name of ['run', 'runTests', 'runTest', 'fail', 'hook', 'hooks', 'uncaught', 'emit']) watch(`mocha:Runner.prototype.${name}`, () => P[name], [trap, origEmit]);
}

/** mocha's lib loaded as CommonJS (mocha up to 11): its functions watched before any test file loads, each run followed. */
function instrumentMocha(Runner) {
  watchMocha(Runner);
  const P = Runner.prototype;
  const realRun = P.run;
  const wrapped = function run() {
    followMocha(this);
    return apply(realRun, this, arguments);
  };
  P.run = wrapped;
  watched.get('mocha:Runner.prototype.run').ok.add(wrapped);
}

/** Sees node:test required (for a file that dies on import) and mocha's Runner as mocha's lib loads it. */
function hookLoad() {
  const origLoad = Module._load;
  Module._load = function load(request) {
    const out = apply(origLoad, this, arguments);
    if (request === 'node:test' || request === 'test') wantsNodeTest = true;
    if (!mochaSeen && isMochaRunner(out)) {
      mochaSeen = true;
      instrumentMocha(out);
    }
    return out;
  };
  watch('module.Module._load', () => Module._load);
}

// A process without the channel (one that did not inherit it, or a run without the judge) is left as it is.
if (OPEN) {
  watchNode();
  installTrap();
  process.on('exit', onExit);
  passChannel(require('child_process').ChildProcess);
  hookLoad();
}
