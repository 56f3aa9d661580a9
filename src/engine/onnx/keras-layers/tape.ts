// Fused backwards: where one is faster than the per-op rules on a layer's forward nodes (im2col convolutions,
// pooling, frozen-statistics BatchNormalization, swish), the layer registers it on the tape.
import type { FusedGradient } from '../grad/differentiate.js';
import type { GraphBuilder } from '../graph.js';

export class Tape {
  readonly fused = new Map<string, FusedGradient>();
  /** BatchNormalization layers a convolution before them has folded in: their own rule passes its input on. */
  readonly foldedNorms = new Set<string>();
  /** Values held channels first ([C, N·H·W], channels-first.ts), with their NHWC shape without the batch. */
  readonly channelsFirst = new Map<string, number[]>();
  /** The channels-last copy of such a value, made once where a layer needs it. */
  readonly nhwcOf = new Map<string, string>();

  /**
   * @param winograd wide 3×3 convolutions as Winograd's F(4×4, 3×3) (TrainStepOptions.winograd)
   * @param batchSize the batch most steps take, which that choice is made for (TrainStepOptions.batchSize)
   */
  constructor(
    readonly g: GraphBuilder,
    readonly winograd = false,
    readonly batchSize = 1,
  ) {}

  /** `y`'s backward to `inputs` ('' where absent), used instead of the rules of the nodes between them. */
  fuse(y: string, inputs: string[], backward: FusedGradient['backward']): void {
    this.fused.set(y, { inputs, backward });
  }
}
