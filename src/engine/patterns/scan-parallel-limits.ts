// When a scan uses a second thread (scan-parallel.ts), in a module of its own so that deciding
// costs no import of worker_threads.

/**
 * Below this size one thread is faster. Measured on the bench machine (2 vCPU VM, bench/RESULTS.md):
 * 100 MB 0.31 s on one thread vs 0.35 s on two, 200 MB 0.47 vs 0.44, 300 MB 0.59 vs 0.53. The
 * second thread pays ~50 ms of start-up (isolate, modules, its own JIT warm-up and regex
 * compilation), and each half then runs ~1.5x slower than alone: V8 optimises hot code on a
 * background thread, which a lone scan gets the idle core for (with --no-concurrent-recompilation
 * both halves ran as fast together as alone; reading and the byte loops alone scale to 2 cores).
 */
export const PARALLEL_MIN_BYTES = 256 << 20;
