import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands/console.js';
import { UsageError } from '../../src/engine/core/errors.js';
import { renderConsole } from '../../src/ui/app.js';
import { ENTER_ALT_SCREEN, LEAVE_ALT_SCREEN } from '../../src/ui/terminal.js';
import { FakeStdin, FakeStdout, healthyState, intentsDouble, newStore, tick } from './harness.js';

function start() {
  const store = newStore();
  healthyState(store);
  const stdout = new FakeStdout(80, 24, { isTTY: true });
  const stdin = new FakeStdin();
  const handle = renderConsole(
    { store, intents: intentsDouble() },
    {
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      stderr: new FakeStdout(80, 24) as unknown as NodeJS.WriteStream,
      color: false,
    },
  );
  return { stdout, stdin, handle };
}

const handles: { unmount(): void }[] = [];
afterEach(() => {
  for (const h of handles.splice(0)) h.unmount();
});

describe('renderConsole and the terminal', () => {
  it('enters the alternate screen first and leaves it (cursor shown, raw mode off) on q', async () => {
    const { stdout, stdin, handle } = start();
    handles.push(handle);
    expect(stdout.writes[0]).toBe(ENTER_ALT_SCREEN);
    await tick();
    expect(stdin.rawMode).toBe(true);
    expect(stdout.writes.join('')).toContain('odoo-prod-1');
    stdin.write('q');
    await handle.waitUntilExit();
    const all = stdout.writes.join('');
    expect(all.lastIndexOf(LEAVE_ALT_SCREEN)).toBeGreaterThan(all.indexOf('odoo-prod-1'));
    expect(all).toContain('\u001B[?25h');
    expect(stdin.rawMode).toBe(false);
  });

  it('Ctrl-C quits the same way', async () => {
    const { stdout, stdin, handle } = start();
    handles.push(handle);
    await tick();
    stdin.write('\u0003');
    await handle.waitUntilExit();
    expect(stdout.writes.join('')).toContain(LEAVE_ALT_SCREEN);
  });

  for (const sig of ['SIGHUP', 'SIGTERM'] as const) {
    it(`${sig} ends the console and restores the screen`, async () => {
      const listenersBefore = process.listenerCount(sig);
      const { stdout, handle } = start();
      handles.push(handle);
      await tick();
      expect(process.listenerCount(sig)).toBeGreaterThan(listenersBefore);
      process.emit(sig, sig);
      await handle.waitUntilExit();
      expect(stdout.writes.join('')).toContain(LEAVE_ALT_SCREEN);
      // handlers are removed once the console has ended
      expect(process.listenerCount(sig)).toBe(listenersBefore);
    });
  }

  it('a closed pipe (EPIPE on stdout) ends the console without writing to it again', async () => {
    const { stdout, handle } = start();
    handles.push(handle);
    await tick();
    const before = stdout.writes.length;
    const err = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    stdout.emit('error', err);
    await handle.waitUntilExit();
    expect(stdout.writes.slice(before).join('')).not.toContain(LEAVE_ALT_SCREEN);
    // a later error on the dead pipe does not throw either
    expect(() => stdout.emit('error', err)).not.toThrow();
  });
});

describe('odoo-heal console command', () => {
  it('refuses without a terminal, with a one-line hint', async () => {
    // vitest workers have no TTY on stdout
    expect(process.stdout.isTTY).not.toBe(true);
    const err = await run({ color: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain('--auto');
    expect(message).toContain('check');
    expect(message).toContain('detect');
  });
});
