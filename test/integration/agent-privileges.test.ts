/**
 * The model's own tools are unprivileged (issue 17, §6): the agents' bash,
 * edit, create and submit run as the sandbox's test user, in a working copy
 * handed over to it. Whatever the model asks for, it cannot write the
 * judge's files, read the runner's working files or SSR's git directory (the
 * original code), through a path or through a link, while its ordinary work
 * (editing the repository, running its tests, committing) goes on as before.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { DockerSandbox, listSandboxes, initBaseline } from '../../src/core/sandbox';
import { runAgent } from '../../src/core/agents/loop';
import { injectorSubmit, makeArtifactDir, solverSubmit } from '../../src/core/agents/submit';
import { PolicyError, type Policy, type PolicyResponse } from '../../src/core/policy';
import type { ArtifactFiles } from '../../src/core/artifact/artifact';

const REPO = path.resolve(__dirname, '../fixtures/repos/pyledger');
const LABEL = { 'ssr.test': `agent-privileges-${process.pid}` };
const JUDGE_FILE = '/ssr/artifact/test_script.sh';

function scripted(turns: string[]): Policy {
  let i = 0;
  return {
    info: { kind: 'scripted', model: 'test' },
    async complete(): Promise<PolicyResponse> {
      if (i >= turns.length) throw new PolicyError(`script exhausted after ${turns.length} turns`);
      return { text: turns[i++], finishReason: 'stop' };
    },
  };
}

const bash = (cmd: string) => `<tool: bash>\n${cmd}\n</tool>`;
const edit = (p: string, a: string, b: string) => `<tool: edit>\n${p}\n<<<<<<< SEARCH\n${a}\n=======\n${b}\n>>>>>>> REPLACE\n</tool>`;
const create = (p: string, body: string) => `<tool: create>\n${p}\n${body}\n</tool>`;

describe('the agents\' tools run unprivileged (real sandbox)', function () {
  this.timeout(180_000);
  let sb: DockerSandbox | undefined;

  beforeEach(async () => {
    sb = await DockerSandbox.create({ repoDir: REPO, labels: LABEL });
    // What a sandbox holds besides the working copy: SSR's git directory (the original code),
    // a judge's file, the runner's private folder.
    await initBaseline(sb);
    await sb.writeFile(JUDGE_FILE, '#!/bin/bash\necho judge\n', 0o755);
    await sb.writeFile('/ssr/tmp/secret.diff', 'the bug\n', 0o600);
  });
  afterEach(async () => {
    await sb?.dispose();
    sb = undefined;
    assert.deepEqual(await listSandboxes(LABEL), [], 'a container was left behind');
  });

  it('bash works in the repository as the test user and reaches none of the judge\'s files', async () => {
    const probe = [
      'id -un',
      'echo "# note" >> pyledger/money.py && echo wrote-repo',
      `echo x >> ${JUDGE_FILE} || echo judge-write-refused`,
      'cat /ssr/tmp/secret.diff || echo tmp-read-refused',
      'ls /ssr/base.git >/dev/null 2>&1 || echo base-refused',
      'ls /ssr/agent/track.git >/dev/null 2>&1 || echo tracker-refused',
      'git init -q && git add -A && git commit -qm wip && echo committed',
      'touch /usr/lib/evil 2>/dev/null || echo system-write-refused',
    ].join('; ');
    const { trajectory: t } = await runAgent({
      sandbox: sb!,
      policy: scripted([bash(probe), '<tool: submit>\n</tool>']),
      role: 'solver',
      task: { repo: REPO },
      systemPrompt: 'system',
      taskPrompt: 'task',
      onSubmit: solverSubmit(),
    });
    const out = t.steps[0].output;
    assert.match(out, /^ssrtest$/m);
    for (const word of ['wrote-repo', 'committed', 'judge-write-refused', 'tmp-read-refused', 'base-refused', 'tracker-refused', 'system-write-refused']) assert.match(out, new RegExp(word), out);
    assert.doesNotMatch(out, /the bug/);
    assert.equal((await sb!.readFile(JUDGE_FILE)).toString(), '#!/bin/bash\necho judge\n');
  });

  it('edit, create and submit follow no link out of the agent\'s reach', async () => {
    const turns = [
      bash(`ln -s ${JUDGE_FILE} pyledger/judge_link.sh && ln -s /ssr/tmp/secret.diff leak.diff && ln -s /ssr/tmp newdir && echo linked`),
      edit('pyledger/judge_link.sh', 'echo judge', 'echo forged'),
      create('/ssr/artifact/extra.sh', 'echo planted'),
      create('newdir/planted.txt', 'planted'),
      edit('pyledger/money.py', 'allocate needs at least one ratio', 'allocate needs a ratio'),
      '<tool: submit>\nleak.diff\n</tool>',
      '<tool: submit>\n</tool>',
    ];
    const { trajectory: t, submission } = await runAgent({
      sandbox: sb!,
      policy: scripted(turns),
      role: 'solver',
      task: { repo: REPO },
      systemPrompt: 'system',
      taskPrompt: 'task',
      onSubmit: solverSubmit(),
    });
    const [link, editJudge, createJudge, createThroughLink, editOwn, submitLeak] = t.steps;
    assert.match(link.output, /linked/);
    assert.match(editJudge.output, /^ERROR: cannot edit .*permission denied/);
    assert.match(createJudge.output, /^ERROR: cannot create \/ssr\/artifact\/extra\.sh: permission denied/);
    assert.match(createThroughLink.output, /^ERROR: cannot create .*permission denied/);
    assert.match(editOwn.output, /^Edited \/repo\/pyledger\/money\.py/);
    assert.match(submitLeak.output, /^ERROR: there is no file \/repo\/leak\.diff the agent can read \(permission denied/);
    assert.equal((await sb!.readFile(JUDGE_FILE)).toString(), '#!/bin/bash\necho judge\n');
    const planted = await sb!.exec('ls /ssr/artifact /ssr/tmp', { cwd: '/' });
    assert.doesNotMatch(planted.stdout, /extra\.sh|planted\.txt/);
    assert.doesNotMatch(String(submission), /the bug/);
  });

  it('the injector writes its artifact into its own folder and cannot submit a judge\'s file as one', async () => {
    await makeArtifactDir(sb!, '/artifact');
    const write = [
      'cd /artifact',
      `printf '#!/bin/bash\\npython -m pytest -q tests\\n' > test_script.sh`,
      `printf 'tests/test_money.py\\n' > test_files.txt`,
      `printf 'import sys, json\\nprint(json.dumps({}))\\n' > test_parser.py`,
      `: > bug_inject.diff; : > test_weaken.diff`,
      'ls -n . | tail -n +2 | awk \'{print $3}\' | sort -u',
    ].join(' && ');
    const { trajectory: t, submission } = await runAgent<ArtifactFiles>({
      sandbox: sb!,
      policy: scripted([
        bash(write),
        bash('ln -sf /ssr/tmp/secret.diff /artifact/test_script.sh && echo linked'),
        '<tool: submit>\n</tool>',
        bash(`cd /artifact && rm test_script.sh && printf '#!/bin/bash\\npython -m pytest -q tests\\n' > test_script.sh && echo again`),
        '<tool: submit>\n</tool>',
      ]),
      role: 'injector',
      task: { repo: REPO },
      systemPrompt: 'system',
      taskPrompt: 'task',
      onSubmit: injectorSubmit('/artifact'),
    });
    assert.equal(t.status, 'submitted', t.error);
    assert.match(t.steps[0].output, /^61001$/m);
    assert.match(t.steps[2].output, /^ERROR: /);
    assert.doesNotMatch(JSON.stringify(t), /the bug/);
    assert.match(submission!.testScript, /pytest -q tests/);
  });
});
