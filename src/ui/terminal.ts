// The terminal around the console: alternate screen on entry, and on every way out (quit, crash,
// Ctrl-C, SIGTERM, SIGHUP, a closed SSH pipe) the screen, cursor and line mode are given back.
// Ink 6 has no alternate-screen option, so this is done here (as gemini-cli does).

export const ENTER_ALT_SCREEN = '\u001B[?1049h';
export const LEAVE_ALT_SCREEN = '\u001B[?1049l';
const SHOW_CURSOR = '\u001B[?25h';

export type StopReason = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'hangup';

export interface TerminalGuard {
  /** Leaves the alternate screen, shows the cursor, leaves raw mode. Idempotent. */
  restore(): void;
  /** Removes the process-wide handlers (after restore, when the console has ended). */
  dispose(): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Errors meaning the terminal is gone: writing more would only raise more of them. */
function isHangup(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EPIPE' || code === 'EIO' || code === 'ECONNRESET' || code === 'ERR_STREAM_DESTROYED';
}

export function guardTerminal(
  stdout: NodeJS.WriteStream,
  stdin: NodeJS.ReadStream,
  onStop: (reason: StopReason) => void,
): TerminalGuard {
  const tty = stdout.isTTY === true;
  let restored = false;
  let broken = false;
  let stopping = false;

  const write = (s: string) => {
    if (!tty || broken || stdout.destroyed || stdout.writableEnded) return;
    try {
      stdout.write(s);
    } catch {
      broken = true;
    }
  };

  const restore = () => {
    if (restored) return;
    restored = true;
    write(SHOW_CURSOR + LEAVE_ALT_SCREEN);
    if (stdin.isTTY === true && typeof stdin.setRawMode === 'function') {
      try {
        stdin.setRawMode(false);
      } catch {
        // stdin already closed: nothing to give back
      }
    }
  };

  const stop = (reason: StopReason) => {
    if (stopping) {
      // Second signal while shutting down: the user means it.
      restore();
      process.exit(130);
    }
    stopping = true;
    onStop(reason);
  };

  const signalHandlers = SIGNALS.map((sig) => {
    const handler = () => stop(sig);
    process.on(sig, handler);
    return [sig, handler] as const;
  });

  let disposed = false;
  const onStdoutError = (err: unknown) => {
    if (isHangup(err) && !disposed) {
      broken = true;
      stop('hangup');
    }
    // Other stream errors are left to Ink; the listener itself keeps them from crashing us.
  };
  stdout.on('error', onStdoutError);

  const onCrash = (err: unknown) => {
    // Give the screen back first, or the message would vanish with the alternate screen.
    restore();
    process.stderr.write(`odoo-heal: console crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  process.on('exit', restore);

  write(ENTER_ALT_SCREEN);

  return {
    restore,
    dispose() {
      disposed = true;
      for (const [sig, handler] of signalHandlers) process.off(sig, handler);
      // The stdout 'error' listener stays: a pipe that breaks while the CLI drains its last
      // output must not crash the process with EPIPE.
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
      process.off('exit', restore);
    },
  };
}
