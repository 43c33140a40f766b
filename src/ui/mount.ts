// Mounts an Ink tree inside the terminal guard: the screen, cursor and line mode are given back on
// every way out (quit, crash, a signal, a hang-up), and a stop that arrives while Ink is still
// mounting unmounts it at once. The console and the fleet view share it.
import { render, type Instance } from 'ink';
import type { ReactNode } from 'react';
import { guardTerminal } from './terminal.js';

export interface MountedView {
  /** Resolves when the view has ended and the terminal is restored. */
  waitUntilExit(): Promise<void>;
  unmount(): void;
}

export interface MountOptions {
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  stderr?: NodeJS.WriteStream;
  maxFps: number;
}

export function mountGuarded(tree: ReactNode, opts: MountOptions): MountedView {
  const stdout = opts.stdout ?? process.stdout;
  const stdin = opts.stdin ?? process.stdin;
  let instance: Instance | null = null;
  let stopRequested = false;
  const guard = guardTerminal(stdout, stdin, () => {
    stopRequested = true;
    instance?.unmount();
  });
  const release = () => {
    guard.restore();
    guard.dispose();
  };
  try {
    instance = render(tree, {
      stdout,
      stdin,
      stderr: opts.stderr ?? process.stderr,
      exitOnCtrlC: false, // Ctrl-C is a key in the keymap, so quitting goes one way
      patchConsole: false,
      maxFps: opts.maxFps,
    });
  } catch (err) {
    release();
    throw err;
  }
  if (stopRequested) instance.unmount();
  const mounted = instance;
  const done = mounted.waitUntilExit().then(release, (err: unknown) => {
    release();
    throw err;
  });
  return { waitUntilExit: () => done, unmount: () => mounted.unmount() };
}
