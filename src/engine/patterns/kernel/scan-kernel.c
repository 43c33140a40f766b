// The byte scanner's per-line loop (LineLoop#run in ../scan-file.ts) in WebAssembly: newline split,
// Odoo header check, literal search and the one-line-record decision, over a buffer in the module's
// own memory that JS reads the file into. JS gets back only what it must act on, as events:
//   SLOW [a, b)  decode these lines and feed them to the parser (continuation lines, raw text...)
//   ONE  [a, b)  decode and match this one-line Odoo record
//   SKIP         nothing but the count of skipped records that every event carries
// plus, per call, the line count and the skipped one-line records per level.
//
// Why: the JS loop costs ~190 ns a line (bench/RESULTS.md, "1. Log scan"); this ~35 (100 MB, 866,000
// lines: ~30 ms), and JS then touches ~1% of the lines. The JS loop stays as the reference and the fallback; the
// tests run both on the same inputs (test/scan-kernel.test.ts).
//
// Exactness: header_level is odooHeaderLevel (src/engine/logs/header-bytes.ts) plus the scanner's
// CR and length checks, byte for byte; has_hit answers "does a literal start in [start, end) and end
// by `stop`", which is what the JS loop asks of LiteralScanner#findAll's hits.
//
// No libc: built by `npm run build:kernel` (clang --target=wasm32, see scan-kernel-build.ts) into
// scan-kernel.generated.ts, which is committed, so a machine without clang runs the same module.
#include <wasm_simd128.h>

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

#define EXPORT(name) __attribute__((export_name(name)))

enum { EV_SKIP = 0, EV_SLOW = 1, EV_ONE = 2 };
enum { MAX_LITS = 1024, MAX_LIT_BYTES = 65536, EV_CAP = 4096, NO_NEXT = -2, SLACK = 64 };
/* io[] layout, read by JS after every call. */
enum { IO_LINES = 0, IO_COUNTS = 1, IO_EVENTS = 6, IO_DONE = 7, IO_SIZE = 8 };

/* Literal search: Wu-Manber over byte pairs, the tables of LiteralScanner built here. */
static u8 shift[65536];
static int head[65536];
static int next_lit[MAX_LITS];
static int lit_off[MAX_LITS];
static int lit_len[MAX_LITS];
static u8 lit_bytes[MAX_LIT_BYTES];
static int m; /* shortest literal; 0 = no literal search (nothing has a hit) */

static u8 every[5];
static int max_line;

static int io[IO_SIZE];
static int events[EV_CAP * 4];

/* The chunk being scanned and where the loop stands in it (a call may stop when events fill up). */
static const u8 *B;
static int s_len, s_stop, s_start, s_end, s_level, s_slow_from, s_slow_to, s_skipped, s_hit;

extern u8 __heap_base;

/* The read buffer: after everything static, so that growing the memory grows it. */
EXPORT("buffer") u8 *buffer(void) { return (u8 *)(((unsigned long)&__heap_base + 63) & ~63ul); }
EXPORT("io") int *io_ptr(void) { return io; }
EXPORT("events") int *events_ptr(void) { return events; }
EXPORT("lit_bytes") u8 *lit_bytes_ptr(void) { return lit_bytes; }
EXPORT("lit_lens") int *lit_lens_ptr(void) { return lit_len; }
EXPORT("max_lits") int max_lits(void) { return MAX_LITS; }
EXPORT("max_lit_bytes") int max_lit_bytes(void) { return MAX_LIT_BYTES; }
EXPORT("ev_cap") int ev_cap(void) { return EV_CAP; }

/*
 * Takes `n` literals (lengths in lit_lens, bytes back to back in lit_bytes), the levels whose
 * one-line records are always decoded (bit per level index) and the parser's line cut. Returns 0
 * when a literal is shorter than 2 bytes (no pair to shift on), 1 otherwise.
 */
EXPORT("setup") int setup(int n, int every_mask, int max_line_bytes) {
  for (int l = 0; l < 5; l++) every[l] = (every_mask >> l) & 1;
  max_line = max_line_bytes;
  m = 0;
  if (n == 0) return 1;
  int off = 0;
  int shortest = 0x7fffffff;
  for (int k = 0; k < n; k++) {
    if (lit_len[k] < 2) return 0;
    lit_off[k] = off;
    off += lit_len[k];
    if (lit_len[k] < shortest) shortest = lit_len[k];
  }
  m = shortest;
  int max_shift = m - 1 < 255 ? m - 1 : 255;
  for (int p = 0; p < 65536; p++) {
    shift[p] = (u8)max_shift;
    head[p] = -1;
  }
  for (int k = 0; k < n; k++) {
    const u8 *p = lit_bytes + lit_off[k];
    for (int j = 1; j < m; j++) {
      int pair = p[j - 1] | (p[j] << 8);
      int s = m - 1 - j < max_shift ? m - 1 - j : max_shift;
      if (s < shift[pair]) shift[pair] = (u8)s;
    }
    int last = p[m - 2] | (p[m - 1] << 8);
    next_lit[k] = head[last];
    head[last] = k;
  }
  return 1;
}

/* First `c` in b[i, end), else end. Reads up to 31 bytes past `end` (JS leaves slack after the buffer). */
static inline int find_byte(const u8 *b, u8 c, int i, int end) {
  const v128_t needle = wasm_i8x16_splat(c);
  while (i < end) {
    u32 lo = wasm_i8x16_bitmask(wasm_i8x16_eq(wasm_v128_load(b + i), needle));
    u32 hi = wasm_i8x16_bitmask(wasm_i8x16_eq(wasm_v128_load(b + i + 16), needle));
    u32 mask = lo | (hi << 16);
    if (mask) {
      int r = i + __builtin_ctz(mask);
      return r < end ? r : end;
    }
    i += 32;
  }
  return end;
}

/* The first byte in b[i, end) that is not an ASCII digit, else end. */
static inline int skip_digits(const u8 *b, int i, int end) {
  const v128_t zero = wasm_i8x16_splat('0'), nine = wasm_i8x16_splat(9);
  while (i < end) {
    u32 digits = wasm_i8x16_bitmask(wasm_u8x16_le(wasm_i8x16_sub(wasm_v128_load(b + i), zero), nine));
    if (digits != 0xffff) {
      int r = i + __builtin_ctz(~digits);
      return r < end ? r : end;
    }
    i += 16;
  }
  return end;
}

static inline u64 load64(const u8 *p) {
  u64 v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

static inline u32 pair16(const u8 *p) { return ((u32)p[0] << 8) | p[1]; }

/* 1 when v is not in [lo, hi] (no branch: the five stamp fields are checked together). */
static inline u32 outside(u32 v, u32 lo, u32 hi) { return (u32)(v - lo > hi - lo); }

/* `YYYY-MM-DD HH:MM:SS,mmm ` as two overlapping 16-byte vectors (bytes 0-15 and 8-23): the bytes
 * expected where no digit is, and 0xff where a digit is. */
#define D 0xff
static const u8 STAMP_LO[16] = {D, D, D, D, '-', D, D, '-', D, D, ' ', D, D, ':', D, D};
static const u8 STAMP_HI[16] = {D, D, ' ', D, D, ':', D, D, ':', D, D, ',', D, D, D, ' '};
#undef D

/* A stamp vector is right: a digit wherever the template has 0xff, the template's byte elsewhere. */
static inline u32 stamp_ok(v128_t v, v128_t template) {
  v128_t digit = wasm_u8x16_le(wasm_i8x16_sub(v, wasm_i8x16_splat('0')), wasm_i8x16_splat(9));
  v128_t want_digit = wasm_i8x16_eq(template, wasm_i8x16_splat((char)0xff));
  v128_t ok = wasm_v128_bitselect(digit, wasm_i8x16_eq(v, template), want_digit);
  return wasm_i8x16_bitmask(ok) == 0xffff;
}

/* Level words with their space, as little-endian 64-bit loads (CRITICAL's space is the 9th byte). */
#define WORD64(a, b, c, d, e, f, g, h)                                                                  \
  ((u64)(a) | (u64)(b) << 8 | (u64)(c) << 16 | (u64)(d) << 24 | (u64)(e) << 32 | (u64)(f) << 40 |     \
   (u64)(g) << 48 | (u64)(h) << 56)
static const u64 WORD[5] = {
    WORD64('D', 'E', 'B', 'U', 'G', ' ', 0, 0), WORD64('I', 'N', 'F', 'O', ' ', 0, 0, 0),
    WORD64('W', 'A', 'R', 'N', 'I', 'N', 'G', ' '), WORD64('E', 'R', 'R', 'O', 'R', ' ', 0, 0),
    WORD64('C', 'R', 'I', 'T', 'I', 'C', 'A', 'L')};
static const u64 WORD_MASK[5] = {0xffffffffffffull, 0xffffffffffull, ~0ull, 0xffffffffffffull, ~0ull};
static const int WORD_LEN[5] = {6, 5, 8, 6, 9};

/* The first 16 bytes (`YYYY-MM-DD HH:MM`) of the last line whose first 16 bytes passed their checks. */
static v128_t last_minute;
static int have_last_minute;

/*
 * odooHeaderLevel: the level index when b[s, end) is `YYYY-MM-DD HH:MM:SS,mmm PID LEVEL DB LOGGER: ...`,
 * else -1. Same checks, done a vector or a word at a time; bytes past the line may be read (never
 * past the buffer's slack), and a match that needs them fails later on `end`, as in the JS.
 */
static int odoo_header_level(const u8 *b, int s, int end) {
  if (end - s < 36) return -1;
  v128_t lo = wasm_v128_load(b + s);
  if (!stamp_ok(wasm_v128_load(b + s + 8), wasm_v128_load(STAMP_HI))) return -1;
  /* All digits: two-digit fields compare as big-endian pairs. */
  if (outside(pair16(b + s + 17), 0x3030, 0x3630)) return -1; /* second 00-60 */
  /* `YYYY-MM-DD HH:MM` (bytes 0-15): most lines repeat the last header's, already found right. */
  if (!have_last_minute || !wasm_i8x16_all_true(wasm_i8x16_eq(lo, last_minute))) {
    if (!stamp_ok(lo, wasm_v128_load(STAMP_LO))) return -1;
    u32 bad = outside(pair16(b + s + 5), 0x3031, 0x3132)    /* month 01-12 */
              | outside(pair16(b + s + 8), 0x3031, 0x3331)  /* day 01-31 */
              | outside(pair16(b + s + 11), 0x3030, 0x3233) /* hour 00-23 */
              | outside(pair16(b + s + 14), 0x3030, 0x3539); /* minute 00-59 */
    if (bad) return -1;
    last_minute = lo;
    have_last_minute = 1;
  }
  /* PID: at least one digit, then a space. */
  int i = skip_digits(b, s + 24, end);
  if (i == s + 24 || i >= end - 1 || b[i] != ' ') return -1;
  i++;
  int level;
  switch (b[i]) {
    case 'D': level = 0; break;
    case 'I': level = 1; break;
    case 'W': level = 2; break;
    case 'E': level = 3; break;
    case 'C': level = 4; break;
    default: return -1;
  }
  if ((load64(b + i) & WORD_MASK[level]) != WORD[level]) return -1;
  if (level == 4 && b[i + 8] != ' ') return -1;
  i += WORD_LEN[level];
  /* DB: non-empty, up to a space. */
  int db_end = find_byte(b, ' ', i, end);
  if (db_end >= end || db_end == i) return -1;
  /* Logger: non-empty, no space, ends at the first `: `: the first space after it follows a colon. */
  int logger_start = db_end + 1;
  int sp = find_byte(b, ' ', logger_start, end);
  if (sp >= end || b[sp - 1] != ':' || sp - 1 <= logger_start) return -1;
  return level;
}

/* headerLevel of scan-file.ts: a header the parser takes as its bytes say (no CR, not cut). */
static inline int header_level(int start, int end) {
  if (end - start > max_line) return -1;
  int lv = odoo_header_level(B, start, end);
  return lv >= 0 && B[end - 1] != '\r' ? lv : -1;
}

/*
 * Literal search over B[0, to): a bit per byte in `hits` where a literal starts (and ends by `to`,
 * as LiteralScanner#findAll). A Wu-Manber step is a chain of dependent loads (pair, shift,
 * position), so the buffer is searched as four parts in one loop, four independent chains (100 MB:
 * ~15 ms against ~22 as one chain; 2 chains ~21, 8 or 16 ~13-15). A part's windows end inside it;
 * its last jump may run into the next part, whose own search covers that.
 */
static u64 *hits;

static __attribute__((noinline)) void verify(int pos, int pair, int to) {
  int at = pos - m + 1;
  for (int k = head[pair]; k >= 0; k = next_lit[k]) {
    int len = lit_len[k];
    if (at + len > to) continue;
    const u8 *p = lit_bytes + lit_off[k];
    int j = 0;
    while (j < len && B[at + j] == p[j]) j++;
    if (j == len) {
      hits[at >> 6] |= 1ull << (at & 63);
      return;
    }
  }
}

/* The byte pair ending at p[1], as the tables index it: p[0] | p[1] << 8 (one 16-bit load). */
static inline int load16(const u8 *p) {
  unsigned short v;
  __builtin_memcpy(&v, p, 2);
  return v;
}

static inline int wm_step(int pos, int to) {
  int pair = load16(B + pos - 1);
  int s = shift[pair];
  if (__builtin_expect(s == 0, 0)) {
    verify(pos, pair, to);
    s = 1;
  }
  return pos + s;
}

static void find_all(int to) {
  int first = m - 1;
  int words = (to >> 6) + 1;
  for (int w = 0; w < words; w++) hits[w] = 0;
  if (to <= first) return;
  int quarter = (to - first) / 4;
  int e0 = first + quarter, e1 = e0 + quarter, e2 = e1 + quarter, e3 = to;
  int p0 = first, p1 = e0, p2 = e1, p3 = e2;
  while (p0 < e0 && p1 < e1 && p2 < e2 && p3 < e3) {
    p0 = wm_step(p0, to);
    p1 = wm_step(p1, to);
    p2 = wm_step(p2, to);
    p3 = wm_step(p3, to);
  }
  while (p0 < e0) p0 = wm_step(p0, to);
  while (p1 < e1) p1 = wm_step(p1, to);
  while (p2 < e2) p2 = wm_step(p2, to);
  while (p3 < e3) p3 = wm_step(p3, to);
}

/* The first hit at or after `from` (bits past the chunk are clear: `limit` when there is none). */
static int next_hit(int from, int limit) {
  int w = from >> 6;
  int words = (limit >> 6) + 1;
  u64 bits = w < words ? hits[w] & (~0ull << (from & 63)) : 0;
  while (bits == 0) {
    if (++w >= words) return limit;
    bits = hits[w];
  }
  int at = (w << 6) + __builtin_ctzll(bits);
  return at < limit ? at : limit;
}

/* Whether a literal starts in [start, end): the first hit at or after the line, found again only
 * once the lines have passed it (lines come in order). */
static inline int has_hit(int start, int end) {
  if (m == 0) return 0;
  if (s_hit < start) s_hit = next_hit(start, s_stop);
  return s_hit < end;
}

/* header_level of the line B[start, end) (for the tests: they compare it with odooHeaderLevel). */
EXPORT("line_level") int line_level(int start, int end) {
  B = buffer();
  return header_level(start, end);
}

/* Where the hit bits of a buffer of `capacity` bytes go: after it and its slack. */
static u64 *hits_for(int capacity) { return (u64 *)(((unsigned long)buffer() + capacity + SLACK + 63) & ~63ul); }

/* Bytes of memory a buffer of `capacity` bytes needs from buffer(): itself, slack, hit bits. */
EXPORT("memory_for") int memory_for(int capacity) { return (int)((u8 *)hits_for(capacity) - buffer()) + capacity / 8 + 64; }

/*
 * Starts a chunk: lines starting before `stop` are scanned; B[0, len) holds whole lines after them.
 * `capacity` is the buffer's size (memory_for(capacity) bytes from buffer() must exist).
 */
EXPORT("begin") void begin(int len, int stop, int capacity) {
  B = buffer();
  hits = hits_for(capacity);
  if (m) find_all(stop);
  s_hit = -1;
  s_len = len;
  s_stop = stop;
  s_start = 0;
  s_end = find_byte(B, '\n', 0, len);
  s_level = header_level(0, s_end);
  s_slow_from = -1;
  s_slow_to = 0;
  s_skipped = 0;
  for (int k = 0; k < IO_SIZE; k++) io[k] = 0;
}

static inline int emit(int n, int kind, int a, int b) {
  int *e = events + 4 * n;
  e[0] = kind;
  e[1] = s_skipped;
  e[2] = a;
  e[3] = b;
  s_skipped = 0;
  return n + 1;
}

/*
 * Runs the loop until the chunk is done (io[IO_DONE] = 1) or the event array is nearly full.
 * Returns the number of events written; io[IO_LINES] and io[IO_COUNTS + level] grow by what this
 * call scanned.
 */
EXPORT("run") int run(void) {
  int n = 0;
  int start = s_start, end = s_end, level = s_level;
  const int len = s_len, stop = s_stop;
  int lines = 0;
  /* An iteration writes at most 2 events and the end of the chunk 2 more. */
  while (start < stop && n <= EV_CAP - 4) {
    int next = end + 1;
    int next_end = next;
    int next_level = NO_NEXT;
    if (next < len) {
      next_end = find_byte(B, '\n', next, len);
      next_level = header_level(next, next_end);
    }
    lines++;
    if (level >= 0 && next_level != -1) {
      /* A one-line Odoo record: what is pending goes to the parser first. */
      if (s_slow_from >= 0) {
        n = emit(n, EV_SLOW, s_slow_from, s_slow_to);
        s_slow_from = -1;
      }
      if (every[level] || has_hit(start, end)) {
        n = emit(n, EV_ONE, start, end);
      } else {
        s_skipped++;
        io[IO_COUNTS + level]++;
      }
    } else {
      if (s_slow_from < 0) s_slow_from = start;
      s_slow_to = end;
    }
    start = next;
    end = next_end;
    level = next_level;
  }
  s_start = start;
  s_end = end;
  s_level = level;
  io[IO_LINES] += lines;
  if (start >= stop) {
    if (s_slow_from >= 0) {
      n = emit(n, EV_SLOW, s_slow_from, s_slow_to);
      s_slow_from = -1;
    }
    if (s_skipped > 0) n = emit(n, EV_SKIP, 0, 0);
    io[IO_DONE] = 1;
  }
  io[IO_EVENTS] = n;
  return n;
}
