// Child process of the flood bench: appends real sample records (fresh timestamps, ~1% error
// records) to a log file at `rate` lines per second for `seconds`, in 10 ms slices, whole records
// only. Prints `{lines, records, bytes, seconds}` as JSON when done.
//   node flood-writer.mjs FILE RATE SECONDS
import { closeSync, openSync, writeSync } from 'node:fs';
import { recordStream, recordText, sampleRecords } from './logs.mjs';

const [file, rateArg, secondsArg] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const next = recordStream(await sampleRecords());
const fd = openSync(file, 'a');
let lines = 0;
let records = 0;
let bytes = 0;
const t0 = performance.now();
await new Promise((resolve) => {
  const tick = () => {
    const elapsed = (performance.now() - t0) / 1000;
    const due = Math.min(elapsed, seconds) * rate;
    const parts = [];
    while (lines < due) {
      const { rec } = next();
      parts.push(recordText(rec, Date.now()));
      lines += rec.lines.length;
      records++;
    }
    if (parts.length) {
      const text = parts.join('');
      bytes += Buffer.byteLength(text);
      writeSync(fd, text);
    }
    if (elapsed >= seconds) resolve();
    else setTimeout(tick, 10);
  };
  tick();
});
closeSync(fd);
process.stdout.write(`${JSON.stringify({ lines, records, bytes, seconds: (performance.now() - t0) / 1000 })}\n`);
