// tmux on a private socket (-L), so a bench never touches the user's own tmux server.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export function haveTmux() {
  return spawnSync('tmux', ['-V']).status === 0;
}

export function haveCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** One detached session `main` running `command` (a shell command line) in a width x height pane. */
export function startTmux(command, { width, height, env = {} }) {
  const socket = `odoo-heal-bench-${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmux = (args, opts = {}) => {
    const r = spawnSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8', ...opts });
    if (r.status !== 0 && !opts.allowFail) throw new Error(`tmux ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout ?? '';
  };
  // The tmux server takes its environment from the client that starts it.
  const serverEnv = { ...process.env, ...env };
  delete serverEnv.TMUX;
  delete serverEnv.CI;
  delete serverEnv.CONTINUOUS_INTEGRATION;
  tmux(['new-session', '-d', '-s', 'main', '-x', String(width), '-y', String(height), command], { env: serverEnv });
  tmux(['set-option', '-g', 'remain-on-exit', 'on'], { allowFail: true });
  return {
    socket,
    capture: () => tmux(['capture-pane', '-p', '-t', 'main'], { allowFail: true }),
    /** Keys as tmux send-keys understands them (`q`, `Enter`, `Escape`, `C-c`). */
    send: (...keys) => tmux(['send-keys', '-t', 'main', ...keys]),
    panePid: () => Number(tmux(['display-message', '-p', '-t', 'main', '#{pane_pid}']).trim()),
    display: (format) => tmux(['display-message', '-p', '-t', 'main', format], { allowFail: true }).trim(),
    kill: () => tmux(['kill-server'], { allowFail: true }),
  };
}
