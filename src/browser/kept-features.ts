// A phase's features in a file of the checkpoint folder, kept until the run ends: a phase resumed after a reload
// reads them back instead of running the base over every image again. A marker file, written once every row is
// in, tells a complete file from one a reload cut short.
import { type RowSink, type SyncFile, syncFileStore } from './row-sinks.js';

/** A FileSystemSyncAccessHandle as row-sinks uses it, and the calls this file adds. */
interface SizedSyncFile extends SyncFile {
  getSize(): number;
  flush(): void;
}

/** Rows written (or found complete) in `name` of `dir`; `complete`: the file already holds them all. */
export interface KeptRows extends RowSink {
  complete: boolean;
  /** Marks the file complete once every row is written. */
  finish(): Promise<void>;
}

async function exists(dir: FileSystemDirectoryHandle, name: string): Promise<boolean> {
  return dir.getFileHandle(name).then(
    () => true,
    () => false,
  );
}

/** The features file `name` for `count` rows of `rowSize` floats (needs a worker, as the OPFS feature cache). */
export async function keptRows(dir: FileSystemDirectoryHandle, name: string, rowSize: number, count: number): Promise<KeptRows> {
  const done = `${name}.done`;
  const bytes = rowSize * 4;
  const handle = await dir.getFileHandle(name, { create: true });
  const file = (await (handle as unknown as { createSyncAccessHandle(): Promise<SizedSyncFile> }).createSyncAccessHandle()) as SizedSyncFile;
  const complete = (await exists(dir, done)) && file.getSize() === bytes * count;
  return {
    complete,
    write: (rows, at) => void file.write(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength), { at: at * bytes }),
    async finish() {
      file.flush();
      await dir.getFileHandle(done, { create: true });
    },
    store: (labels) => syncFileStore(file, rowSize, labels, async () => file.close()),
  };
}
