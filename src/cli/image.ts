/** The image a `--repo` command runs in: --image, else the repository's built environment, else the base image; said on stderr. */
import { chooseImage } from '../core/environment';

export async function repoImage(o: Record<string, unknown>, repoDir: string | undefined): Promise<string> {
  if (o.repoInImage) return String(o.image ?? (await chooseImage({})).image);
  const choice = await chooseImage({ repoDir, explicit: o.image as string | undefined });
  if (choice.why === 'environment' && !o.json) process.stderr.write(`${choice.message}\n`);
  return choice.image;
}
