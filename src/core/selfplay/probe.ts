/**
 * Is the model server there? A short question to an OpenAI-compatible
 * server before a run starts.
 */

export type ProbeResult = { ok: true; models: string[] } | { ok: false; error: string };

/**
 * Asks an OpenAI-compatible server for its models (GET {baseUrl}/models)
 * with a short timeout, to say "the server is not reachable" before a run
 * starts rather than after its first episode fails. The key is sent as a
 * Bearer token only and never appears in the result.
 */
export async function probeOpenAI(baseUrl: string | undefined, apiKey?: string, timeoutMs = 5000): Promise<ProbeResult> {
  const base = (baseUrl || 'http://127.0.0.1:8000/v1').trim().replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(`${base}/models`);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    return { ok: false, error: `${base} is not an http(s) URL` };
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  url.username = '';
  url.password = '';
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    if (res.status === 401 || res.status === 403) return { ok: false, error: `${shown} refused the API key (HTTP ${res.status})` };
    if (!res.ok) return { ok: false, error: `${shown} answered HTTP ${res.status}` };
    const body = (await res.json().catch(() => undefined)) as { data?: Array<{ id?: unknown }> } | undefined;
    const models = Array.isArray(body?.data) ? body!.data.map((m) => String(m.id)).filter(Boolean) : [];
    return { ok: true, models };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer in ${Math.round(timeoutMs / 1000)} s` : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { ok: false, error: `${shown} is not reachable (${why})` };
  }
}
