// What a long bench run is doing: a line on stderr as each section starts and each pairing ends, with the time since
// the run began (a full run takes hours and writes its table only at the end).
import { duration } from '../src/util/progress.js';

const START = Date.now();

/** Seconds since the bench's process started its work. */
export const elapsedS = (): number => (Date.now() - START) / 1000;

export function benchLog(message: string): void {
  process.stderr.write(`bench ${duration(elapsedS()).padStart(6)} ${message}\n`);
}
