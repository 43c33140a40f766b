// Builds the Config / OdooConf / ProbeContext that probe tests run with: the real built-in defaults
// with the fields a test cares about overridden.
import { defaultConfig, defaultOdooConf } from '../../src/engine/config/defaults.js';
import type { Config, OdooConf } from '../../src/engine/config/types.js';
import type { ProbeContext } from '../../src/engine/probes/types.js';

export function testConfig(edit: (c: Config) => void = () => undefined): Config {
  const c = defaultConfig({ env: {}, isRoot: false, home: '/nonexistent-home' });
  // Tests must never probe the machine's own services unless they say so.
  c.services = [];
  c.endpoints = [];
  edit(c);
  return c;
}

export function testOdoo(over: Partial<OdooConf> = {}): OdooConf {
  return { ...defaultOdooConf(), ...over };
}

export function testCtx(config: Config = testConfig(), odoo: OdooConf = testOdoo()): ProbeContext {
  return { config, odoo, now: () => Date.now() };
}
