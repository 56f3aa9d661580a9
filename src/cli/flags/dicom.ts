import type { DicomSettings } from '../../data/decode.js';
import { parseWindow } from '../../data/dicom.js';
import { type ValuesOf, num, parsed } from '../flag.js';

/** How DICOM images are read: the window and the frame. */
export const window = parsed(
  'window',
  'W',
  `DICOM: auto (the file's WindowCenter/Width, else 1st–99th percentile; default),
dicom (the file's, required), C,W (e.g. 40,400) or lung|mediastinum|bone|brain`,
  (raw) => {
    parseWindow(raw);
    return raw;
  },
);

export const frame = num(
  'frame',
  'N',
  'DICOM multi-frame: the frame to read (1-based, default 1)',
  (n) => Number.isInteger(n) && n >= 1,
  'a frame number (1 or more)',
);

export const DICOM = [window, frame] as const;

/** The DICOM settings the flags choose, or undefined when neither is given. */
export function dicomFrom(values: ValuesOf<(typeof DICOM)[number]>): DicomSettings | undefined {
  const { window, frame } = values;
  if (window === undefined && frame === undefined) return undefined;
  return { window: window ?? 'auto', ...(frame !== undefined ? { frame: frame - 1 } : {}) };
}
