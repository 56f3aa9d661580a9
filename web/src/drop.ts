// A folder dropped on the page, listed as the folder picker lists one: each file with its path from the dropped
// folder's name down (what webkitRelativePath holds for a picked folder), so the same classes and split follow.

/** A directory's entries: readEntries gives them in parts, until an empty one. */
async function children(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const part = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (!part.length) return all;
    all.push(...part);
  }
}

/** Every file under `entry`, with its path without the leading '/'. */
async function walk(entry: FileSystemEntry, out: Array<{ path: string; file: File }>): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ path: entry.fullPath.replace(/^\//, ''), file });
  } else for (const child of await children(entry as FileSystemDirectoryEntry)) await walk(child, out);
}

/** Calls `take` with the files of a folder dropped on `target` (a drop of plain files is ignored: no classes). */
export function onFolderDrop(target: HTMLElement, take: (files: Array<{ path: string; file: File }>, name: string) => void): void {
  target.addEventListener('dragover', (e) => e.preventDefault());
  target.addEventListener('drop', async (e) => {
    e.preventDefault();
    // The entries are read before the first await: the DataTransfer's items empty once the handler yields.
    const dirs = Array.from(e.dataTransfer?.items ?? [], (item) => item.webkitGetAsEntry()).filter((d): d is FileSystemEntry => !!d?.isDirectory);
    if (!dirs.length) return;
    const files: Array<{ path: string; file: File }> = [];
    for (const d of dirs) await walk(d, files);
    take(files, dirs.map((d) => d.name).join(', '));
  });
}
