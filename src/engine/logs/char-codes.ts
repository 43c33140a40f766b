// Character codes and digit readers for the header checks, which compare char codes before
// anything allocates: the parser asks about every line of a log.
export const C_0 = 48;
export const C_9 = 57;
export const C_TAB = 9;
export const C_SPACE = 32;
export const C_COMMA = 44;
export const C_DASH = 45;
export const C_DOT = 46;
export const C_COLON = 58;
export const C_LT = 60;
export const C_T = 84;
export const C_Z = 90;
export const C_LBRACE = 123;
export const C_PIPE = 124;

export function isDigit(c: number): boolean {
  return c >= C_0 && c <= C_9;
}

/** The decimal number in s[from, to), or -1 when any of those characters is not a digit. */
export function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < C_0 || c > C_9) return -1;
    n = n * 10 + (c - C_0);
  }
  return n;
}
