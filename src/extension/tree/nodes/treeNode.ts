/**
 * The base of every tree node (one class per kind of node, in this folder).
 * A node makes its TreeItem and its children; `revealPath` is the file or
 * folder "Reveal in Run Directory" shows for it.
 */
import * as vscode from 'vscode';
import type { ArtifactDocuments } from '../../review/artifactDocuments';
import type { Jobs } from '../../jobs';
import type { RunsModel } from '../../state';
import type { TrajectoryCache } from '../../trajectories';
import type { Log } from '../../log';

/** What nodes need from the extension. */
export interface NodeEnv {
  model: RunsModel;
  jobs: Jobs;
  docs: ArtifactDocuments;
  trajectories: TrajectoryCache;
  log?: Log;
}

export abstract class TreeNode {
  /** The file or folder "Reveal in Run Directory" shows. */
  revealPath?: string;
  abstract getTreeItem(): vscode.TreeItem;
  async getChildren(): Promise<TreeNode[]> {
    return [];
  }
}

export function icon(id: string, color?: string): vscode.ThemeIcon {
  return new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);
}

export function fmtReward(r: number | undefined): string {
  if (r === undefined || r === null || Number.isNaN(r)) return 'n/a';
  return (r > 0 ? '+' : r < 0 ? '−' : '') + Math.abs(r).toFixed(2);
}

export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || ms === null) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Markdown-escapes untrusted text (model or tool output) for tooltips. */
export function mdEscape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

/** A fenced code block that untrusted text cannot break out of. */
export function mdCode(text: string, lang = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}`;
}
