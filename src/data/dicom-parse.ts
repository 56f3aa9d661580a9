// The DICOM data set of a file, as pydicom reads what is in the wild: Part 10 files with the DICM preamble, files
// without it (the transfer syntax guessed from the first element), data sets whose VR encoding disagrees with
// the declared transfer syntax (read as they are encoded), and the deflated transfer syntax (inflated, capped).
import dicomParser from 'dicom-parser';
import { concatBytes } from '../util/bytes.js';
import { inflateRaw } from './native-io.js';

const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';
export const DEFLATED = '1.2.840.10008.1.2.1.99';

/** A deflated data set inflating past this is refused before more is allocated (a decompression bomb). */
export const MAX_INFLATED = 256 * 2 ** 20;

export interface ParsedDicom {
  ds: dicomParser.DataSet;
  /** The transfer syntax the pixel data is encoded in (the meta header's, or guessed without one). */
  syntax: string;
}

/** Two upper-case ASCII letters at `at`: an explicit VR. */
const isVr = (b: Uint8Array, at: number) => at + 1 < b.length && b[at] >= 65 && b[at] <= 90 && b[at + 1] >= 65 && b[at + 1] <= 90;

/** The VR encoding a data set starting at `at` uses, read off its first element (as pydicom does). */
function encodingAt(b: Uint8Array, at: number): string {
  if (!isVr(b, at + 4)) return IMPLICIT_LE;
  return b[at] === 0 && b[at + 1] !== 0 ? EXPLICIT_BE : EXPLICIT_LE;
}

function inflater(bytes: Uint8Array, position: number): Uint8Array {
  let body: Uint8Array;
  try {
    body = inflateRaw(bytes.subarray(position), MAX_INFLATED);
  } catch (err) {
    const why = (err as Error).message;
    throw new Error(
      why === 'too large'
        ? `the deflated data set inflates to more than ${MAX_INFLATED / 2 ** 20} MiB`
        : why === 'corrupt'
          ? 'the deflated data set is corrupt'
          : why,
    );
  }
  const full = new Uint8Array(position + body.length);
  full.set(bytes.subarray(0, position));
  full.set(body, position);
  return full;
}

function parse(bytes: Uint8Array, options: dicomParser.ParseDicomOptions): dicomParser.DataSet {
  try {
    return dicomParser.parseDicom(bytes, { ...options, inflater } as dicomParser.ParseDicomOptions);
  } catch (err) {
    const msg = typeof err === 'string' ? err : ((err as { exception?: string }).exception ?? (err as Error).message ?? String(err));
    throw new Error(`not a readable DICOM file (${msg.replace(/^dicomParser\.\w+: /, '')})`);
  }
}

/** Parses a file's bytes; throws 'not a readable DICOM file (…)' for what is not one. */
export function parseDicomBytes(bytes: Uint8Array): ParsedDicom {
  const part10 = bytes.length > 132 && String.fromCharCode(...bytes.subarray(128, 132)) === 'DICM';
  if (!part10) {
    // No preamble and meta header: a bare data set, which must start with an element of a low even group.
    const group = bytes.length >= 8 ? Math.min(bytes[0] | (bytes[1] << 8), (bytes[0] << 8) | bytes[1]) : 1;
    if (group % 2 || group > 0x0010) throw new Error('not a readable DICOM file (no DICM preamble, and no data set element at its start)');
    const syntax = encodingAt(bytes, 0);
    return { ds: parse(bytes, { TransferSyntaxUID: syntax }), syntax };
  }
  let meta: dicomParser.DataSet & { position?: number };
  try {
    meta = dicomParser.readPart10Header(bytes);
  } catch {
    return { ds: parse(bytes, {}), syntax: '' }; // parse() words the reason
  }
  const syntax = (meta.string('x00020010') ?? IMPLICIT_LE).trim();
  const start = meta.position ?? 0;
  const plain = syntax === IMPLICIT_LE || syntax === EXPLICIT_LE || syntax === EXPLICIT_BE;
  if (plain && start + 6 <= bytes.length && encodingAt(bytes, start) !== syntax) {
    // The data set is encoded otherwise than its meta header says: read it as encoded, as pydicom does.
    const encoded = encodingAt(bytes, start);
    return { ds: parse(bytes.subarray(start), { TransferSyntaxUID: encoded }), syntax: encoded };
  }
  if (!plain && syntax !== DEFLATED && start + 6 <= bytes.length && !isVr(bytes, start + 4)) {
    // Compressed pixel data in an implicit-VR data set (non-conformant, but written by some tools).
    return { ds: parse(bytes.subarray(start), { TransferSyntaxUID: IMPLICIT_LE }), syntax };
  }
  return { ds: parse(bytes, {}), syntax };
}

interface Fragmented {
  fragments?: { position: number; length: number }[];
  items?: { dataOffset: number; length: number }[];
  encapsulatedPixelData?: boolean;
}

/**
 * The compressed bytes of one frame. An implicit-VR data set leaves encapsulated pixel data as items (the first
 * the offset table); those are read as fragments, one frame per fragment when there are several frames.
 */
export function encapsulatedFrame(ds: dicomParser.DataSet, pixelData: dicomParser.Element, frame: number, frames: number): Uint8Array {
  const el = pixelData as dicomParser.Element & Fragmented;
  if (!el.encapsulatedPixelData && el.items?.length) {
    const parts = el.items.slice(1);
    if (!parts.length) throw new Error('no pixel data fragments');
    const chosen = frames === 1 ? parts : [parts[frame]];
    if (!chosen[0]) throw new Error(`${parts.length} pixel data fragments for ${frames} frames`);
    return concatBytes(chosen.map((p) => ds.byteArray.subarray(p.dataOffset, p.dataOffset + p.length)));
  }
  if (!el.encapsulatedPixelData) throw new Error('compressed transfer syntax, but the pixel data is not encapsulated');
  const fragments = el.fragments ?? [];
  if (!fragments.length) throw new Error('no pixel data fragments');
  if (frames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, pixelData, 0, fragments.length);
  return pixelData.basicOffsetTable?.length
    ? dicomParser.readEncapsulatedImageFrame(ds, pixelData, frame)
    : dicomParser.readEncapsulatedPixelDataFromFragments(ds, pixelData, frame, 1);
}
