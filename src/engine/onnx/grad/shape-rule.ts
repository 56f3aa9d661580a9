// What a shape rule sees: one node and the facts of its inputs. One rule per ONNX op type (as grad/'s gradient
// rules), returning the facts of each output.
import type { Dim, NodeValue } from '../proto.js';
import { Elem, type ValueFacts, attr } from './dims.js';

export interface ShapeCall {
  node: NodeValue;
  op: string;
  inp: Array<ValueFacts | undefined>;
  /** The first input, its dims, rank and element type (float where unknown). */
  x: ValueFacts | undefined;
  dims: Dim[] | undefined;
  rank: number | undefined;
  type: number;
  /** The folded integers of input `i`. */
  ints(i: number): Dim[] | undefined;
  /** The constant axes of a reduction or (un)squeeze: input 1 or the `axes` attribute. */
  axesOf(): number[] | undefined;
}

export type ShapeRule = (c: ShapeCall) => Array<ValueFacts | undefined>;

export function shapeCall(node: NodeValue, get: (v: string) => ValueFacts | undefined): ShapeCall {
  const inp = node.inputs.map((v) => (v ? get(v) : undefined));
  const x = inp[0];
  const ints = (i: number) => inp[i]?.ints;
  return {
    node,
    op: node.opType,
    inp,
    x,
    dims: x?.dims,
    rank: x?.dims?.length,
    type: x?.type ?? Elem.FLOAT,
    ints,
    axesOf: () => {
      const a = node.inputs[1] ? ints(1) : attr<number[] | undefined>(node, 'axes', undefined);
      return a?.every((v) => typeof v === 'number') ? (a as number[]) : undefined;
    },
  };
}
