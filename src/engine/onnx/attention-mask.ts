// Constants an exporter folded that look like float weights but are not: dynamo exports compute Swin's
// shifted-window attention mask at export time and store it as a float initializer (0 where two tokens share a
// window, −100 where they do not). Trained, it would drift where PyTorch's buffer stays; it is left frozen.
import type { TensorValue } from './proto.js';

/** Whether `t` is an additive attention mask: float32, only zeros and one large negative value (−100, −1e4, −∞). */
export function isAdditiveMask(t: TensorValue): boolean {
  if (t.raw.byteLength % 4 !== 0) return false;
  const view = new DataView(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength);
  let zero = false;
  let negative: number | undefined;
  for (let i = 0; i < t.raw.byteLength; i += 4) {
    const v = view.getFloat32(i, true);
    if (v === 0) zero = true;
    else if (v > -100 || (negative !== undefined && v !== negative)) return false;
    else negative = v;
  }
  return zero && negative !== undefined;
}
