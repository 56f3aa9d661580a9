// HDF5's signature check, apart from how the bytes are read (a Node file, or h5wasm's in-memory files in a browser).
const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** HDF5's signature sits at byte 0, 512, 1024, … (a user block may precede it); `readAt` gives 8 bytes at an offset. */
export function hasHdf5Signature(size: number, readAt: (offset: number) => Uint8Array): boolean {
  for (let offset = 0; offset + 8 <= size; offset = offset === 0 ? 512 : offset * 2) {
    const buf = readAt(offset);
    if (HDF5_SIGNATURE.every((b, i) => buf[i] === b)) return true;
  }
  return false;
}
