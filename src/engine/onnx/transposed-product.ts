// Aᵀ·op(B) for a weight's gradient (dW = Xᵀ·dY). MLAS works Gemm's transA by transposing A again for every block
// of the output's columns, so for a wide product one explicit transpose costs less (2 threads, with the folded
// momentum's C): ConvNeXt-Tiny's dW [392,768]ᵀ·[392,3072] 6.3 → 5.8 ms, ViT-B/16's [1576,768]ᵀ·[1576,3072] 23.2 →
// 20.9, [392,2048]ᵀ·[392,512] 3.0 → 2.9; at 256 and 320 columns (EfficientNetV2-S's and MobileNetV2's project
// convolutions) the transpose costs more than it saves. It goes through a 3-D view: ORT fuses a 2-D Transpose
// back into transA.
import type { GraphBuilder } from './graph.js';
import type { AttributeValue, NodeValue } from './proto.js';

/** Output columns from which A is transposed explicitly. */
const WIDE = 512;

/** Gemm(A, B) with transA, B transposed too where `transB`; `columns` the product's (0 where not known). */
export function productAtB(g: GraphBuilder, a: string, b: string, columns: number, transB: boolean, hint: string): string {
  const tb: Record<string, AttributeValue> = transB ? { transB: 1 } : {};
  if (columns < WIDE) return g.op('Gemm', [a, b], { transA: 1, ...tb }, hint);
  const axis0 = g.ints('axis0', [0]);
  const at = g.op('Squeeze', [g.op('Transpose', [g.op('Unsqueeze', [a, axis0])], { perm: [0, 2, 1] }), axis0], {}, `${hint}_at`);
  return g.op('Gemm', [at, b], tb, hint);
}

/** The A that `value` is productAtB's explicit transpose of, or undefined. */
export function transposedOf(nodes: NodeValue[], value: string): string | undefined {
  const made = (v: string, op: string) => nodes.find((n) => n.outputs.includes(v) && n.opType === op);
  const transpose = made(made(value, 'Squeeze')?.inputs[0] ?? '', 'Transpose');
  return made(transpose?.inputs[0] ?? '', 'Unsqueeze')?.inputs[0];
}
