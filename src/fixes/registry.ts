// Every fix module by id. Patterns and probe findings name fixes by these ids (`fix.id`).
import { cronDeprecatedFields } from './cron-deprecated-fields.js';
import { guidance } from './guidance.js';
import { permissions } from './permissions.js';
import { restartService } from './restart-service.js';
import { sessionCleanup } from './session-cleanup.js';
import { terminateCron } from './terminate-cron.js';
import { terminateIdle } from './terminate-idle.js';
import type { Fix } from './types.js';

// Each module is typed with its own params/data; the registry hands them out as the general contract
// (params come from detect() of the same fix, so they always match).
const FIXES: readonly Fix[] = [
  cronDeprecatedFields as unknown as Fix,
  restartService as unknown as Fix,
  permissions as unknown as Fix,
  terminateIdle as unknown as Fix,
  terminateCron as unknown as Fix,
  sessionCleanup as unknown as Fix,
  guidance as unknown as Fix,
];

const BY_ID = new Map(FIXES.map((f) => [f.id, f]));

export function getFix(id: string): Fix | undefined {
  return BY_ID.get(id);
}

export function allFixes(): readonly Fix[] {
  return FIXES;
}
