// Command-line entry: parses arguments and hands over to one command module. Command modules are
// imported lazily so that `check` never pays for loading Ink/React.
import { Command, CommanderError, Option } from 'commander';
import { odooHealVersion } from '../engine/core/version.js';
import { UsageError, errorMessage } from '../engine/core/errors.js';
import { exitQuietlyOnClosedStdout, flushStdout, printErr } from './output.js';
import type { GlobalOptions } from './global-options.js';


/** Runs a lazily imported command and turns its result or error into an exit code. */
async function runCommand(load: () => Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await load();
  } catch (err) {
    if (err instanceof UsageError) {
      printErr(`odoo-heal: ${err.message}\n`);
      code = err.exitCode;
    } else {
      printErr(`odoo-heal: ${errorMessage(err)}\n`);
      if (process.env.ODOO_HEAL_DEBUG && err instanceof Error) printErr(`${err.stack}\n`);
      code = 3;
    }
  }
  // Let stdout drain (large --json output into a pipe) before exiting.
  await flushStdout();
  process.exit(code);
}

export function buildProgram(): Command {
  const program = new Command('odoo-heal');
  program
    .description('Watch an Odoo deployment, explain what is wrong, and heal it.')
    .version(odooHealVersion(), '-V, --version')
    .option('--config <path>', "odoo-heal's own config file (YAML; default /etc/odoo-heal/config.yaml if present)")
    .option('--odoo-config <path>', 'odoo.conf to use instead of discovering it')
    .option('--patterns <dir>', 'pattern directory (default: the bundled patterns/)')
    .option('--no-color', 'plain output (NO_COLOR is respected too)')
    .option('--auto', 'headless: watch and heal unattended (for systemd), JSON lines on stdout')
    .showHelpAfterError('(odoo-heal --help lists the commands)')
    .exitOverride();

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();

  // The root command has an action (the console), so commander would take a mistyped command for an
  // excess argument; name it as what it is.
  program.allowExcessArguments(true);
  program.action(async (opts: { auto?: boolean }) => {
    const [unknown] = program.args;
    if (unknown !== undefined) {
      await runCommand(async () => {
        const names = program.commands.map((c) => c.name());
        throw new UsageError(`unknown command "${unknown}" (commands: ${names.join(', ')}; see odoo-heal --help)`);
      });
    }
    if (opts.auto) {
      await runCommand(async () => (await import('./commands/auto.js')).run(globals()));
    } else {
      await runCommand(async () => (await import('./commands/console.js')).run(globals()));
    }
  });

  program
    .command('check')
    .description('one pass of every probe plus a scan of recent log records; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
    .option('--json', 'machine-readable output (format: docs/json-format.md)')
    .option('--timeout <ms>', 'overall time budget in milliseconds', '8000')
    .option('--deep', 'also check a sample of the filestore against ir_attachment (stats files)')
    .action(async (opts) => runCommand(async () => (await import('./commands/check.js')).run(globals(), opts)));

  program
    .command('detect')
    .description('incidents found in Odoo logs (files, - for stdin, or the configured sources)')
    .argument('[files...]', 'log files; - reads stdin')
    .option('--json', 'machine-readable output')
    .option('--since <when>', 'only records at or after this time (ISO date/time or a duration like 2h, 30m)')
    .option('--postgres <file...>', "PostgreSQL server logs (stderr format or csvlog) to read with PostgreSQL's patterns")
    .action(async (files: string[], opts) =>
      runCommand(async () => (await import('./commands/detect.js')).run(globals(), files, opts)),
    );

  const patterns = program.command('patterns').description('inspect and test the pattern database');
  patterns
    .command('list')
    .description('list the loaded patterns')
    .option('--json', 'machine-readable output')
    .action(async (opts) => runCommand(async () => (await import('./commands/patterns.js')).list(globals(), opts)));
  patterns
    .command('validate')
    .description('validate the pattern database or one pattern file')
    .argument('[file]', 'a pattern file (default: the whole pattern directory)')
    .action(async (file: string | undefined) =>
      runCommand(async () => (await import('./commands/patterns.js')).validate(globals(), file)),
    );
  patterns
    .command('test')
    .description('show which pattern matched which record of a log file')
    .argument('<log>', 'an Odoo log file')
    .option('--json', 'machine-readable output')
    .action(async (log: string, opts) =>
      runCommand(async () => (await import('./commands/patterns.js')).test(globals(), log, opts)),
    );
  patterns
    .command('suggest')
    .description('draft a pattern for an unclassified incident, proved on its records and on healthy logs')
    .argument('<incident>', 'unclassified incident id (i-xxxxxxxx) or signature')
    .option('--log <file>', 'log to read the incident from (repeatable; default: the configured logs)', (v: string, acc: string[]) => acc.concat(v), [] as string[])
    .option('--baseline <file>', 'healthy log the draft must not match (repeatable; default: the bundled baselines)', (v: string, acc: string[]) => acc.concat(v), [] as string[])
    .option('--write', 'write the proved draft into the local pattern directory (patterns.localDir)')
    .option('--json', 'machine-readable output')
    .action(async (incident: string, opts) =>
      runCommand(async () => (await import('./commands/patterns.js')).suggest(globals(), incident, opts)),
    );

  program
    .command('fleet')
    .description('every odoo-heal instance Prometheus scrapes, worst first (console; --json/--once for scripts)')
    .option('--prometheus <url>', "Prometheus's base URL (or ODOO_HEAL_PROMETHEUS, or config fleet.prometheus)")
    .option('--job <name>', 'the scrape job of the odoo-heal instances (default: config fleet.job, odoo-heal)')
    .option('--interval <ms>', 'how often the console reads Prometheus (default: config fleet.intervalMs, 15000)')
    .option('--timeout <ms>', 'per request to Prometheus or a host (default: config fleet.timeoutMs, 5000)')
    .option('--json', 'one snapshot as JSON (format odoo-heal/fleet@1); exit code like check')
    .option('--once', 'one snapshot as a table; exit code like check')
    .action(async (opts) => runCommand(async () => (await import('./commands/fleet.js')).run(globals(), opts)));

  program
    .command('fix')
    .description('list fixable incidents, or plan/apply the fix of one (id, fingerprint or pattern id)')
    .argument('[incident]', 'incident id, fingerprint or pattern id')
    .option('--log <file>', 'read incidents from this log file (repeatable)', (v: string, acc: string[]) => acc.concat(v), [] as string[])
    .option('--dry-run', 'show the plan only')
    .option('-y, --yes', 'apply without asking')
    .option('--json', 'machine-readable output')
    .action(async (incident: string | undefined, opts) =>
      runCommand(async () => (await import('./commands/fix.js')).run(globals(), incident, opts)),
    );

  program
    .command('rollback')
    .description('roll back a fix attempt (byte-identical restore, checked by sha256)')
    .argument('<attempt-id>')
    .option('--force', 'roll back even if the file changed since the fix')
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts) =>
      runCommand(async () => (await import('./commands/rollback.js')).run(globals(), id, opts)),
    );

  program
    .command('history')
    .description('fix attempts from the audit log')
    .option('--json', 'machine-readable output')
    .action(async (opts) => runCommand(async () => (await import('./commands/history.js')).run(globals(), opts)));

  const audit = program.command('audit').description('the hash-chained audit log');
  audit
    .command('verify')
    .description('check the audit log chain; exit 0 intact, 2 tampered')
    .option('--file <path>', 'audit log to verify (default: from config)')
    .action(async (opts) => runCommand(async () => (await import('./commands/audit.js')).verify(globals(), opts)));

  program
    .command('report')
    .description('health, incidents, fix attempts and per-pattern effectiveness')
    .addOption(new Option('--json', 'JSON output').conflicts('md'))
    .option('--md', 'Markdown output')
    .option('--since <when>', 'only since this time (ISO date/time or duration like 24h)')
    .action(async (opts) => runCommand(async () => (await import('./commands/report.js')).run(globals(), opts)));

  program
    .command('config')
    .description('show the effective configuration (defaults + config file + odoo.conf), secrets masked')
    .option('--json', 'machine-readable output')
    .option('--audit', "audit odoo.conf: each finding names the line to change and why; exit 1 warnings, 2 errors")
    .action(async (opts) => runCommand(async () => (await import('./commands/config.js')).run(globals(), opts)));

  program
    .command('demo')
    .description('a self-contained sandbox that replays real Odoo incidents and heals them in the console')
    .option('--headless', 'run the sandbox with --auto instead of the console')
    .option('--minutes <n>', 'how long the scenario runs', '4')
    .action(async (opts) => runCommand(async () => (await import('./commands/demo.js')).run(globals(), opts)));

  return program;
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnClosedStdout();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; parse errors are usage errors.
      process.exit(err.exitCode === 0 ? 0 : 2);
    }
    throw err;
  }
}
