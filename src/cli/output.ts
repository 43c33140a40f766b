// The one way the command line writes. Whatever a command prints can carry log text (a title, a
// path an attacker chose, a fix's message), so every writer goes through here:
//   print / printErr text for a terminal or a CI log: escape sequences and controls removed, C1 and
//                    bidi controls dropped, newlines and tabs kept (sanitizeBlock);
//   printJson        JSON: C1, DEL, bidi controls escaped as \uXXXX (JSON.stringify escapes only C0);
//   ask              a yes/no question on the terminal.
// NEW COMMANDS MUST WRITE THROUGH THESE, never process.stdout/stderr directly: the test
// test/safety/terminal-output.test.ts fails the build otherwise. See docs/security.md#terminal-output.
import { createInterface } from 'node:readline/promises';
import { escapeJsonText, safeJsonStringify, sanitizeBlock } from '../engine/text/terminal-safe.js';

/** Text to stdout, made safe for a terminal. */
export function print(text: string): void {
  process.stdout.write(sanitizeBlock(text));
}

/** Text to stderr, made safe for a terminal. */
export function printErr(text: string): void {
  process.stderr.write(sanitizeBlock(text));
}

/** One JSON document to stdout (`space` 2 = pretty, 0 = one line), newline-terminated. */
export function printJson(value: unknown, space = 2): void {
  process.stdout.write(`${safeJsonStringify(value, space)}\n`);
}

/** A JSON document already serialized by JSON.stringify (e.g. a renderer's output) to stdout, C1/bidi escaped. */
export function printJsonText(json: string): void {
  process.stdout.write(escapeJsonText(json));
}

/** A JSON line for a stream other than stdout (the --auto log may be any writable). */
export function jsonLine(value: unknown): string {
  return `${safeJsonStringify(value)}\n`;
}

/** stdout for --auto's JSON lines; whoever writes to it writes `jsonLine(...)` only. */
export function jsonLogStream(): NodeJS.WritableStream {
  return process.stdout;
}

/** Resolves once everything written to stdout so far is flushed (a large --json into a pipe). */
export function flushStdout(): Promise<void> {
  return new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
}

/** Exits 0 on EPIPE: `odoo-heal detect x.log | head` closing the pipe early is not an error. */
export function exitQuietlyOnClosedStdout(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

/** Asks on stderr (stdout stays for the result); true for y/yes. The question must not carry log text unsanitized. */
export async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(sanitizeBlock(question));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Whether both stdin and stdout are terminals (the console needs both). */
export function onTerminal(): { stdin: boolean; stdout: boolean } {
  return { stdin: process.stdin.isTTY === true, stdout: process.stdout.isTTY === true };
}
