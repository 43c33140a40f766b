// One real Odoo for every test/real-odoo/*.test.ts of a run (see test/helpers/real-odoo.ts).
import type { TestProject } from 'vitest/node';
import { startRealOdoo, stopRealOdoo, unavailableReason, type RealOdooInfo } from '../helpers/real-odoo.js';

let info: RealOdooInfo | null = null;

export async function setup(project: TestProject): Promise<void> {
  const reason = unavailableReason();
  if (reason) {
    console.warn(`real-odoo: SKIPPED — ${reason}`);
    project.provide('realOdoo', null);
    project.provide('realOdooSkip', reason);
    return;
  }
  const t0 = Date.now();
  info = await startRealOdoo();
  console.warn(`real-odoo: Odoo 18 up in ${((Date.now() - t0) / 1000).toFixed(0)} s at ${info.base} (http ${info.httpPort}, pg ${info.pgPort})`);
  project.provide('realOdoo', info);
  project.provide('realOdooSkip', '');
}

export function teardown(): void {
  if (info) stopRealOdoo(info);
}
