// The shipped Prometheus rules (deploy/prometheus/) under `promtool test rules`: each alert fires on
// the series odoo-heal's /metrics exposes, with the host's instance label, and stays quiet otherwise.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTool, missingTools } from './helpers/prom-tools.js';

const RULES = resolve(import.meta.dirname, '..', 'deploy', 'prometheus', 'odoo-heal.rules.yml');
const EXAMPLE = resolve(import.meta.dirname, '..', 'deploy', 'prometheus', 'prometheus.example.yml');
const skip = missingTools('promtool');
const dir = mkdtempSync(join(tmpdir(), 'odoo-heal-promtool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function promtool(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(findTool('promtool')!, args, { encoding: 'utf8', cwd: dir });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Runs one `promtool test rules` file made of the given tests; returns promtool's verdict. */
function runTests(name: string, tests: string): { status: number | null; out: string } {
  const file = join(dir, `${name}.yml`);
  writeFileSync(file, `rule_files:\n  - ${RULES}\nevaluation_interval: 1m\ntests:\n${tests}`);
  return promtool('test', 'rules', file);
}

const A = 'job="odoo-heal", instance="odoo-a:9187"';
const B = 'job="odoo-heal", instance="odoo-b:9187"';

describe.skipIf(skip !== null)(`deploy/prometheus rules${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('are valid rules, and the example scrape config is a valid Prometheus config', () => {
    const rules = promtool('check', 'rules', RULES);
    expect(rules.out).toMatch(/SUCCESS: 11 rules found/);
    expect(rules.status).toBe(0);
    // check config resolves rule_files: point it at the shipped rules.
    const cfg = join(dir, 'prometheus.yml');
    writeFileSync(cfg, readFileSync(EXAMPLE, 'utf8').replace('/etc/prometheus/odoo-heal.rules.yml', RULES));
    const config = promtool('check', 'config', cfg);
    expect(config.out).toMatch(/SUCCESS/);
    expect(config.status).toBe(0);
  });

  it('agent down through up, only after 2 minutes, with the instance label', () => {
    const r = runTests(
      'agent-down',
      `
  - interval: 1m
    input_series:
      - series: 'up{${A}}'
        values: '0 0 0 0'
      - series: 'up{${B}}'
        values: '1 1 1 1'
    alert_rule_test:
      - eval_time: 1m
        alertname: OdooHealAgentDown
        exp_alerts: []
      - eval_time: 3m
        alertname: OdooHealAgentDown
        exp_alerts:
          - exp_labels: { severity: critical, job: odoo-heal, instance: "odoo-a:9187" }
            exp_annotations:
              summary: "odoo-heal on odoo-a:9187 does not answer /metrics"
              description: "Nothing watches or heals this Odoo while the agent is down. Check \`systemctl status odoo-auto-heal\` on the host."
`,
    );
    expect(r.out).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  it('incidents open per severity: critical at once, warning after 15 minutes, summed per host', () => {
    const r = runTests(
      'incidents',
      `
  - interval: 1m
    input_series:
      - series: 'odoo_heal_open_incidents{${A}, rule="cron-deprecated-fields", kind="pattern", severity="critical"}'
        values: '0 1 1'
      - series: 'odoo_heal_open_incidents{${A}, rule="probe:database", kind="probe", severity="critical"}'
        values: '0 1 1'
      - series: 'odoo_heal_open_incidents{${B}, rule="worker-limit", kind="pattern", severity="warning"}'
        values: '1x30'
    alert_rule_test:
      - eval_time: 0m
        alertname: OdooHealCriticalIncident
        exp_alerts: []
      - eval_time: 2m
        alertname: OdooHealCriticalIncident
        exp_alerts:
          - exp_labels: { severity: critical, job: odoo-heal, instance: "odoo-a:9187" }
            exp_annotations:
              summary: "2 critical incident(s) open on odoo-a:9187"
              description: "See the console or GET /incidents on the host."
      - eval_time: 10m
        alertname: OdooHealWarningIncident
        exp_alerts: []
      - eval_time: 20m
        alertname: OdooHealWarningIncident
        exp_alerts:
          - exp_labels: { severity: warning, job: odoo-heal, instance: "odoo-b:9187" }
            exp_annotations:
              summary: "1 warning incident(s) open on odoo-b:9187 for 15 minutes"
`,
    );
    expect(r.out).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  it('host unhealthy, fix failed, circuit breaker open and unclassified errors rising', () => {
    const r = runTests(
      'others',
      `
  - interval: 1m
    input_series:
      - series: 'odoo_heal_health_status{${A}, status="critical"}'
        values: '1x5'
      - series: 'odoo_heal_health_status{${B}, status="critical"}'
        values: '0x5'
      - series: 'odoo_heal_fix_attempt_outcomes{${B}, fix="restart-service", outcome="failed"}'
        values: '0 0 1 1 1'
      - series: 'odoo_heal_fix_attempt_outcomes{${A}, fix="restart-service", outcome="verified"}'
        values: '0 1 2 3 4'
      - series: 'odoo_heal_circuit_breakers_open{${B}}'
        values: '0 0 1 1'
      - series: 'odoo_heal_open_incidents{${A}, rule="unclassified", kind="unclassified", severity="critical"}'
        values: '0 1 2 3 4'
    alert_rule_test:
      - eval_time: 1m
        alertname: OdooHealHostUnhealthy
        exp_alerts: []
      - eval_time: 3m
        alertname: OdooHealHostUnhealthy
        exp_alerts:
          - exp_labels: { severity: critical, job: odoo-heal, instance: "odoo-a:9187" }
            exp_annotations:
              summary: "Odoo on odoo-a:9187 is CRITICAL"
              description: "odoo-heal check reports CRITICAL for 2 minutes. \`odoo-heal check\` on the host says why."
      - eval_time: 4m
        alertname: OdooHealFixFailed
        exp_alerts:
          - exp_labels: { severity: warning, job: odoo-heal, instance: "odoo-b:9187", fix: restart-service }
            exp_annotations:
              summary: "A fix (restart-service) failed or was rolled back on odoo-b:9187"
              description: "\`odoo-heal history\` on the host shows the attempt and its reason."
      - eval_time: 3m
        alertname: OdooHealCircuitBreakerOpen
        exp_alerts:
          - exp_labels: { severity: critical, job: odoo-heal, instance: "odoo-b:9187" }
            exp_annotations:
              summary: "auto-heal gave up on 1 incident(s) on odoo-b:9187"
              description: "Repeated fixes did not hold; a human must look. The breaker closes when the incident stays quiet."
      - eval_time: 1m
        alertname: OdooHealUnclassifiedErrorsRising
        exp_alerts: []
      - eval_time: 4m
        alertname: OdooHealUnclassifiedErrorsRising
        exp_alerts:
          - exp_labels: { severity: warning, job: odoo-heal, instance: "odoo-a:9187", kind: unclassified }
            exp_annotations:
              summary: "New kinds of errors no pattern knows are appearing on odoo-a:9187"
              description: "At least 3 more unclassified incidents in 30 minutes: often a deploy that broke custom code. \`odoo-heal detect\` lists them."
`,
    );
    expect(r.out).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  it('fails when an alert does not fire as expected (the harness can fail)', () => {
    const r = runTests(
      'negative',
      `
  - interval: 1m
    input_series:
      - series: 'odoo_heal_circuit_breakers_open{${A}}'
        values: '0 0 0'
    alert_rule_test:
      - eval_time: 2m
        alertname: OdooHealCircuitBreakerOpen
        exp_alerts:
          - exp_labels: { severity: critical, job: odoo-heal, instance: "odoo-a:9187" }
`,
    );
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/FAILED/);
  });
});
