// The console shows log text through the same sanitizer as the command line (one place; see
// src/engine/text/terminal-safe.ts and docs/security.md#terminal-output).
export { sanitizeText } from '../engine/text/terminal-safe.js';
