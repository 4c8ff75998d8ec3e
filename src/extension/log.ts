/**
 * The "SSR" log (a LogOutputChannel). Every line goes through redaction:
 * the API key from the secret storage is never written, even when an error
 * message from a library happens to contain it.
 */
import * as vscode from 'vscode';

export class Log implements vscode.Disposable {
  readonly channel: vscode.LogOutputChannel;
  private secrets = new Set<string>();

  constructor(channel?: vscode.LogOutputChannel) {
    this.channel = channel ?? vscode.window.createOutputChannel('SSR', { log: true });
  }

  /** Registers a value that must never appear in the log. */
  addSecret(value: string | undefined): void {
    if (value && value.length >= 4) this.secrets.add(value);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    return out.replace(/((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+/gi, '$1***');
  }

  info(msg: string): void {
    this.channel.info(this.redact(msg));
  }
  warn(msg: string): void {
    this.channel.warn(this.redact(msg));
  }
  error(msg: string | Error): void {
    const text = msg instanceof Error ? `${msg.name}: ${msg.message}${msg.stack ? `\n${msg.stack.split('\n').slice(1).join('\n')}` : ''}` : msg;
    this.channel.error(this.redact(text));
  }
  debug(msg: string): void {
    this.channel.debug(this.redact(msg));
  }
  show(): void {
    this.channel.show(true);
  }
  dispose(): void {
    this.channel.dispose();
  }
}
