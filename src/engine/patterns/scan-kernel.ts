// The JS side of the byte scanner's WebAssembly kernel (kernel/scan-kernel.c): one instance per
// scanned range, a read buffer that lives in the instance's memory (the file is read straight into
// it, nothing is copied), and the events the kernel leaves for JS. scan-file.ts drives it; where it
// is not available (no WebAssembly, no SIMD, a pattern set too big for its tables) scan-file.ts runs
// its JS loop, which gives the same result.
import { KERNEL_WASM_BASE64 } from './scan-kernel.generated.js';

/** Event kinds, as in scan-kernel.c. Every event first carries the one-line records skipped before it. */
export const EV_SKIP = 0;
export const EV_SLOW = 1;
export const EV_ONE = 2;

const IO_LINES = 0;
const IO_COUNTS = 1;
const IO_DONE = 7;
const IO_SIZE = 8;
const PAGE = 65536;

// The few WebAssembly types used here (this project's TypeScript libs have no WebAssembly typings;
// the global is also missing under `node --jitless`).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
}
const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

interface KernelExports {
  memory: WasmMemory;
  buffer(): number;
  io(): number;
  events(): number;
  lit_bytes(): number;
  lit_lens(): number;
  max_lits(): number;
  max_lit_bytes(): number;
  ev_cap(): number;
  setup(n: number, everyMask: number, maxLine: number): number;
  memory_for(capacity: number): number;
  begin(len: number, stop: number, capacity: number): void;
  run(): number;
  line_level(start: number, end: number): number;
}

/** undefined: not compiled yet; null: WebAssembly (or its SIMD) is not available here. */
let compiled: WasmModule | null | undefined;

function kernelModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      compiled = wasm ? new wasm.Module(Buffer.from(KERNEL_WASM_BASE64, 'base64')) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

export class ScanKernel {
  /** Events of the last `run`: [kind, skipped before, from, to] each. */
  events: Int32Array;
  private io: Int32Array;
  private buf: Buffer | null = null;

  private constructor(private readonly x: KernelExports) {
    this.events = new Int32Array(x.memory.buffer, x.events(), x.ev_cap() * 4);
    this.io = new Int32Array(x.memory.buffer, x.io(), IO_SIZE);
  }

  /**
   * A kernel for these literals (UTF-8 bytes: a one-line record containing none is skipped unless
   * `every[level]`) and the parser's line cut; null when it cannot run here or cannot take them.
   */
  static create(literals: readonly Uint8Array[], every: readonly boolean[], maxLine: number): ScanKernel | null {
    const mod = kernelModule();
    if (!mod) return null;
    let x: KernelExports;
    try {
      x = new wasm!.Instance(mod, {}).exports as unknown as KernelExports;
    } catch {
      return null; // e.g. no address space for its memory under a tight `ulimit -v`
    }
    const total = literals.reduce((n, l) => n + l.length, 0);
    if (literals.length > x.max_lits() || total > x.max_lit_bytes()) return null;
    const lens = new Int32Array(x.memory.buffer, x.lit_lens(), literals.length);
    const bytes = new Uint8Array(x.memory.buffer, x.lit_bytes(), total);
    let off = 0;
    literals.forEach((l, k) => {
      lens[k] = l.length;
      bytes.set(l, off);
      off += l.length;
    });
    const mask = every.reduce((acc, on, level) => (on ? acc | (1 << level) : acc), 0);
    if (x.setup(literals.length, mask, maxLine) !== 1) return null;
    return new ScanKernel(x);
  }

  /**
   * The read buffer with room for `bytes`; what it held is kept (growing the memory keeps its
   * contents, only the views change). The scan must go on with the buffer returned.
   */
  buffer(bytes: number): Buffer {
    if (this.buf && this.buf.length >= bytes) return this.buf;
    const { memory } = this.x;
    const at = this.x.buffer();
    // Past the buffer: a few bytes the kernel may read (SIMD loads past the end), its hit bits.
    const need = at + this.x.memory_for(bytes);
    if (need > memory.buffer.byteLength) {
      memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
      this.events = new Int32Array(memory.buffer, this.x.events(), this.x.ev_cap() * 4);
      this.io = new Int32Array(memory.buffer, this.x.io(), IO_SIZE);
    }
    this.buf = Buffer.from(memory.buffer, at, bytes);
    return this.buf;
  }

  /** Starts on the buffer's lines that start before `stop`; `[0, len)` holds whole lines after them. */
  begin(len: number, stop: number): void {
    this.x.begin(len, stop, this.buf!.length);
  }

  /** Scans on until the chunk is done or `events` is full; returns the number of events. */
  run(): number {
    return this.x.run();
  }

  /** The kernel's verdict on the line `bytes[0, end)` (no newline; what follows it may be read and
   * must not matter): its level index when it is an Odoo header the parser takes as its bytes say,
   * else -1. For the tests; uses the read buffer. */
  lineLevel(bytes: Uint8Array, end: number): number {
    this.buffer(bytes.length).set(bytes, 0);
    return this.x.line_level(0, end);
  }

  /** The chunk's lines are all scanned. */
  get done(): boolean {
    return this.io[IO_DONE] === 1;
  }

  /** Lines scanned in the chunk. */
  get lines(): number {
    return this.io[IO_LINES]!;
  }

  /** Skipped one-line records of the chunk at level index `level`. */
  skipped(level: number): number {
    return this.io[IO_COUNTS + level]!;
  }
}
