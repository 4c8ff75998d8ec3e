/** Trajectory files read once and kept while unchanged on disk (the tree and the stepper share them). */
import * as fs from 'node:fs';
import { readTrajectory } from '../core/selfplay/episodes';
import type { Trajectory } from '../core/base/trajectory';

export class TrajectoryCache {
  private readonly hits = new Map<string, { mtime: number; size: number; t: Trajectory }>();

  async get(file: string): Promise<Trajectory> {
    const st = await fs.promises.stat(file);
    const hit = this.hits.get(file);
    if (hit && hit.mtime === st.mtimeMs && hit.size === st.size) return hit.t;
    const t = await readTrajectory(file);
    this.hits.set(file, { mtime: st.mtimeMs, size: st.size, t });
    if (this.hits.size > 64) this.hits.delete(this.hits.keys().next().value as string);
    return t;
  }
}
