/**
 * Which image a command that takes `--repo` runs in: an explicit image wins;
 * else the repository's built environment when there is one; else SSR's
 * base image. The choice says why, so commands can tell the user.
 */
import { DEFAULT_IMAGE } from '../sandbox/docker';
import { findEnvironment } from './build';
import type { EnvSource } from './plan';

export interface ImageChoice {
  image: string;
  /** explicit: --image / the setting; environment: the repo's built environment; base: nothing built. */
  why: 'explicit' | 'environment' | 'base';
  source?: EnvSource;
  /** One line for the user. */
  message: string;
}

export async function chooseImage(opts: { repoDir?: string; explicit?: string; dockerfile?: string }): Promise<ImageChoice> {
  if (opts.explicit) return { image: opts.explicit, why: 'explicit', message: `image ${opts.explicit} (given)` };
  if (opts.repoDir) {
    const env = await findEnvironment(opts.repoDir, { dockerfile: opts.dockerfile });
    if (env) {
      return { image: env.image, why: 'environment', source: env.source, message: `using the repository's environment ${env.image} (${env.source}; ssr env build)` };
    }
  }
  return { image: DEFAULT_IMAGE, why: 'base', message: `image ${DEFAULT_IMAGE} (no environment built for this repository: ssr env build --repo DIR)` };
}
