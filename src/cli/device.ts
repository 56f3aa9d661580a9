import { UsageError } from '../errors.js';
import { DEVICES, type Device, setDevice } from '../engine/ort-runtime.js';

/** `--device` (else TRANSFERKIT_DEVICE, else auto) for the ONNX Runtime engine's sessions. */
export function applyDevice(flag: string | undefined): void {
  const raw = flag ?? process.env.TRANSFERKIT_DEVICE ?? 'auto';
  if (!(DEVICES as readonly string[]).includes(raw)) throw new UsageError(`--device must be ${DEVICES.join(', ')}; got '${raw}'`);
  setDevice(raw as Device);
}
