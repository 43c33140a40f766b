// One root cause, one incident: links each incident whose cause is another open incident to that
// root (Incident.rootId). Pure: the incidents, the clock and the deployment in, the links out.
import type { Incident } from '../core/types.js';
import { classify as classifyIncident, dependenciesOf, mountOf, type Classification, type Component, type Deployment } from './model.js';

export interface CorrelateOptions {
  now: number;
  deployment: Deployment;
  /**
   * After a root is resolved by its probe, second-hand evidence of the same part (log records still
   * in flight, Odoo's own account) stays linked to it this long instead of standing up as a new
   * root: the log incidents clear once their records have been quiet for this long anyway.
   */
  settleMs: number;
  /** Classification per incident (callers cache it: a pattern incident's class never changes). */
  classify?: (incident: Incident) => Classification | null;
}

const active = (i: Incident): boolean => i.status !== 'resolved';

/** Lower rank first (more direct evidence), then the older, then by id: the same input, the same root. */
function better(a: { i: Incident; c: Classification }, b: { i: Incident; c: Classification }): boolean {
  if (a.c.rank !== b.c.rank) return a.c.rank < b.c.rank;
  if (a.i.firstSeen !== b.i.firstSeen) return a.i.firstSeen < b.i.firstSeen;
  return a.i.id < b.i.id;
}

/**
 * Incident id → the id of its root incident, or null when it is a root (or stands alone), for
 * every active incident. Resolved incidents are not in the map: they keep the link they had.
 */
export function correlate(incidents: readonly Incident[], opts: CorrelateOptions): Map<string, string | null> {
  const classify = opts.classify ?? classifyIncident;
  const heads = new Map<Component, { i: Incident; c: Classification }>();
  const settling = new Map<Component, { i: Incident; c: Classification }>();
  const classes = new Map<string, Classification>();
  for (const i of incidents) {
    const c = classify(i);
    if (!c) continue;
    classes.set(i.id, c);
    const entry = { i, c };
    if (active(i)) {
      const h = heads.get(c.component);
      if (!h || better(entry, h)) heads.set(c.component, entry);
    } else if (i.resolvedAt !== null && opts.now - i.resolvedAt < opts.settleMs) {
      const s = settling.get(c.component);
      if (!s || better(entry, s)) settling.set(c.component, entry);
    }
  }

  // A part whose most direct incident was resolved and only second-hand evidence lingers is healed:
  // that evidence settles under the resolved incident, and what depends on the part stands alone.
  const settled = (component: Component): Incident | null => {
    const s = settling.get(component);
    const h = heads.get(component);
    return s && h && s.c.rank < h.c.rank ? s.i : null;
  };

  // The root of a part: the root of the first failing part it depends on, else its own head.
  const roots = new Map<Component, Incident | null>();
  const rootOf = (component: Component, path: Set<Component> = new Set()): Incident | null => {
    const known = roots.get(component);
    if (known !== undefined) return known;
    if (path.has(component)) return null; // the table has no cycle; a bad edit must not hang us
    path.add(component);
    let root: Incident | null = null;
    for (const dep of dependenciesOf(component, opts.deployment)) {
      root = rootOf(dep, path);
      if (root) break;
    }
    root ??= settled(component) ? null : (heads.get(component)?.i ?? null);
    path.delete(component);
    roots.set(component, root);
    return root;
  };

  const failingDisks = [...heads.keys()].filter((k) => k.startsWith('disk:'));
  const out = new Map<string, string | null>();
  for (const i of incidents) {
    if (!active(i)) continue;
    const c = classes.get(i.id);
    if (!c) {
      out.set(i.id, null);
      continue;
    }
    let root: Incident | null = null;
    if (c.writes !== null) {
      const mount = c.writes === '' ? (failingDisks.length === 1 ? failingDisks[0]!.slice(5) : null) : mountOf(c.writes, opts.deployment.mounts);
      if (mount !== null) root = rootOf(`disk:${mount}`);
    }
    if (!root) {
      for (const dep of dependenciesOf(c.component, opts.deployment)) {
        root = rootOf(dep);
        if (root) break;
      }
    }
    // A probe that fails in the minute after a part it depends on healed reports that part's echo
    // (a prefork cron worker not yet respawned, Odoo reconnecting): it stays with the healed root,
    // and stands up on its own only if it outlasts the settle window. Log evidence of lasting damage
    // (threaded Odoo's dead cron threads) stands alone at once.
    if (!root && i.origin.kind === 'probe') {
      for (const dep of dependenciesOf(c.component, opts.deployment)) {
        root = settling.get(dep)?.i ?? null;
        if (root) break;
      }
    }
    root ??= settled(c.component) ?? heads.get(c.component)!.i;
    out.set(i.id, root === i ? null : root.id);
  }
  return out;
}
