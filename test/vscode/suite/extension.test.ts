/**
 * In the extension host: the commands are registered, the views are
 * contributed, and the tree providers give nodes for a recorded run
 * directory (bug -> five files + Checks -> seven verdicts; attempts).
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { SsrApi } from '../../../src/extension/extension';
import type { TreeNode } from '../../../src/extension/tree/nodes/treeNode';

const EXTENSION_ID = 'ssr-dev.ssr';

async function api(): Promise<SsrApi> {
  const ext = vscode.extensions.getExtension<SsrApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not installed`);
  return ext.activate();
}

function label(node: TreeNode): string {
  const l = node.getTreeItem().label;
  return typeof l === 'string' ? l : (l?.label ?? '');
}

export function register(): void {
  describe('SSR extension', () => {
    it('registers every contributed command', async () => {
      await api();
      const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as { contributes: { commands: Array<{ command: string }> } };
      const all = new Set(await vscode.commands.getCommands(true));
      const missing = pkg.contributes.commands.map((c) => c.command).filter((c) => !all.has(c));
      assert.deepEqual(missing, []);
    });

    it('contributes the SSR container with the Bugs, Sessions and Trajectories views', async () => {
      const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as { contributes: { views: Record<string, Array<{ id: string }>> } };
      assert.deepEqual(
        pkg.contributes.views.ssr.map((v) => v.id),
        ['ssr.bugs', 'ssr.sessions', 'ssr.trajectories'],
      );
      await vscode.commands.executeCommand('workbench.view.extension.ssr');
    });

    it('lists the recorded run and its bug, five files, seven checks and attempts', async () => {
      const { model, providers } = await api();
      await model.refresh();
      const sessions = await providers.sessions.getChildren();
      // Runs are named for people; the id is in the accessibility label.
      const aria = (n: { getTreeItem(): vscode.TreeItem }) => n.getTreeItem().accessibilityInformation?.label ?? '';
      assert.ok(sessions.some((s) => aria(s).startsWith('session 20000101-000000-e2erec,')), `sessions: ${sessions.map(aria).join(', ')}`);
      // The Bugs view groups bugs by run (and may start with the "Solving needs a model" line).
      const groups = (await providers.bugs.getChildren()).filter((g) => aria(g).startsWith('run '));
      assert.equal(groups.length, 1);
      const bugs = await groups[0].getChildren();
      assert.equal(bugs.length, 1);
      assert.equal(label(bugs[0]), 'r000-78e3df67e841');
      const children = await bugs[0].getChildren();
      assert.deepEqual(children.map(label), ['test_script.sh', 'test_files.txt', 'test_parser.py', 'bug_inject.diff', 'test_weaken.diff', 'Checks', 'Test matrix', 'Compare attempts']);
      const checks = await children[5].getChildren();
      assert.equal(checks.length, 7);
      assert.ok(checks.every((c) => String(c.getTreeItem().description).startsWith('pass')));
      const tbugs = await providers.trajectories.getChildren();
      const attempts = await tbugs[0].getChildren();
      assert.deepEqual(attempts.map(label), ['attempt 1', 'attempt 2']);
      const steps = await attempts[0].getChildren();
      assert.ok(steps.length >= 6, 'the recorded attempt has its patch and 6 steps');
    });

    it('opens a trajectory in the stepper', async () => {
      const { providers, stepper } = await api();
      const tbugs = await providers.trajectories.getChildren();
      const attempts = await tbugs[0].getChildren();
      await vscode.commands.executeCommand('ssr.openTrajectory', attempts[0]);
      assert.ok(stepper);
    });
  });
}
