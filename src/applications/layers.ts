// Keras layers that tfjs-layers lacks (or has only in part), written once as registered, serialisable classes so
// that models using them save and load again.
import { tf, tfl } from '../tfjs.js';

type Kwargs = Record<string, unknown>;
type Shape = Array<number | null>;

export interface RescalingArgs {
  /** One factor, or one per channel (Keras accepts both). */
  scale: number | number[];
  offset?: number | number[];
  name?: string;
}

/** keras.layers.Rescaling: `x * scale + offset`, with per-channel factors too (tfjs's takes one number only). */
export class Rescaling extends tfl.layers.Layer {
  static className = 'Rescaling';
  private readonly scale: number | number[];
  private readonly offset: number | number[];

  constructor(args: RescalingArgs) {
    super({ name: args.name });
    this.scale = args.scale;
    this.offset = args.offset ?? 0;
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => tf.add(tf.mul(tf.cast(x, 'float32'), this.scale), this.offset));
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), scale: this.scale, offset: this.offset };
  }
}

export interface NormalizationArgs {
  /** The feature axis (default -1). */
  axis?: number;
  /** Fixed statistics per feature (Keras's `mean=`/`variance=`): then the layer holds no weights. */
  mean?: number[];
  variance?: number[];
  name?: string;
}

/**
 * keras.layers.Normalization: `(x - mean) / max(sqrt(variance), 1e-7)` with mean, variance and count stored
 * as non-trainable weights (EfficientNet keeps the ImageNet statistics there), or, given `mean` and `variance`,
 * as constants in the config (EfficientNetV2's B models).
 */
export class Normalization extends tfl.layers.Layer {
  static className = 'Normalization';
  private readonly axis: number;
  private mean?: tfl.LayerVariable;
  private variance?: tfl.LayerVariable;
  /** The fixed statistics, when given. */
  readonly fixed?: { mean: number[]; variance: number[] };

  constructor(args: NormalizationArgs = {}) {
    super({ name: args.name });
    this.axis = args.axis ?? -1;
    if (args.mean && args.variance) this.fixed = { mean: args.mean, variance: args.variance };
  }

  build(inputShape: Shape | Shape[]): void {
    if (this.fixed) {
      this.built = true;
      return;
    }
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const axis = this.axis < 0 ? shape.length + this.axis : this.axis;
    const features = shape[axis];
    if (features === null) throw new Error(`Normalization needs a known size on axis ${this.axis}`);
    const weightShape = shape.map((d, i) => (i === axis ? (d as number) : 1)).slice(1);
    this.mean = this.addWeight('mean', weightShape, 'float32', tfl.initializers.zeros(), undefined, false);
    this.variance = this.addWeight('variance', weightShape, 'float32', tfl.initializers.ones(), undefined, false);
    this.addWeight('count', [], 'float32', tfl.initializers.zeros(), undefined, false);
    this.built = true;
  }

  call(inputs: tf.Tensor | tf.Tensor[], _kwargs?: Kwargs): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => {
      const mean = this.fixed ? tf.tensor1d(this.fixed.mean) : (this.mean as tfl.LayerVariable).read();
      const variance = this.fixed ? tf.tensor1d(this.fixed.variance) : (this.variance as tfl.LayerVariable).read();
      return tf.div(tf.sub(x, mean), tf.maximum(tf.sqrt(variance), 1e-7));
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), axis: this.axis, ...(this.fixed ?? {}) };
  }
}

tf.serialization.registerClass(Rescaling);
tf.serialization.registerClass(Normalization);

/**
 * Keras 3's `hard_swish` activation, `x · relu6(x + 3) / 6` (MobileNetV3), registered so that
 * `Activation('hard_swish')` layers build, save and load in tfjs as they do in Keras. tfjs names activations in
 * camel case and converts to Keras's snake case when saving (as `hardSigmoid` ↔ `hard_sigmoid`).
 */
export class HardSwish extends tf.serialization.Serializable {
  static className = 'hardSwish';

  /** x · relu6(x + 3) / 6. */
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6)));
  }

  getConfig(): tf.serialization.ConfigDict {
    return {};
  }
}

tf.serialization.registerClass(HardSwish);

export interface CustomScaleLayerArgs {
  scale: number;
  name?: string;
}

/** InceptionResNetV2's `CustomScaleLayer`: `inputs[0] + inputs[1] * scale`, the scaled residual sum. */
export class CustomScaleLayer extends tfl.layers.Layer {
  static className = 'CustomScaleLayer';
  readonly scale: number;

  constructor(args: CustomScaleLayerArgs) {
    super({ name: args.name });
    this.scale = args.scale;
  }

  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [x, residual] = inputs as tf.Tensor[];
    return tf.tidy(() => tf.add(x, tf.mul(residual, this.scale)));
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), scale: this.scale };
  }
}

tf.serialization.registerClass(CustomScaleLayer);

export interface LayerScaleArgs {
  /** The scale's initial value (ConvNeXt: 1e-6). */
  initValues: number;
  projectionDim: number;
  name?: string;
}

/** ConvNeXt's `LayerScale`: `x · gamma`, one trainable factor per channel (the last axis), serialised as Keras's. */
export class LayerScale extends tfl.layers.Layer {
  static className = 'LayerScale';
  readonly initValues: number;
  readonly projectionDim: number;
  private gamma?: tfl.LayerVariable;

  constructor(args: LayerScaleArgs) {
    super({ name: args.name });
    this.initValues = args.initValues;
    this.projectionDim = args.projectionDim;
  }

  build(): void {
    this.gamma = this.addWeight('gamma', [this.projectionDim], 'float32', tfl.initializers.constant({ value: this.initValues }));
    this.built = true;
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.mul(x, (this.gamma as tfl.LayerVariable).read());
  }

  getConfig(): tf.serialization.ConfigDict {
    // tfjs writes config keys in Python's snake case when saving (init_values, projection_dim), as Keras does.
    return { ...super.getConfig(), initValues: this.initValues, projectionDim: this.projectionDim };
  }
}

tf.serialization.registerClass(LayerScale);

/** keras.layers.UnitNormalization: `x / max(‖x‖₂, 1e-6)` over the last axis (cosine similarity heads). */
export class UnitNormalization extends tfl.layers.Layer {
  static className = 'UnitNormalization';

  constructor(args: { name?: string } = {}) {
    super({ name: args.name });
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', -1, true), 1e-6)));
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), axis: -1 };
  }
}

tf.serialization.registerClass(UnitNormalization);

export interface NeighbourVoteArgs {
  /** How many nearest stored examples vote. */
  k: number;
  /** The class of each stored example (the columns of the similarity input). */
  labels: number[];
  classes: number;
  name?: string;
}

/**
 * k-NN's vote over the similarities to every stored example (the Dense layer before holds their unit
 * embeddings): the k most similar vote for their class, each weighing 1 + 0.001·similarity so that ties go to
 * the closer class; the output is each class's share of the vote. No Keras equivalent.
 */
export class NeighbourVote extends tfl.layers.Layer {
  static className = 'NeighbourVote';
  readonly k: number;
  readonly labels: number[];
  readonly classes: number;

  constructor(args: NeighbourVoteArgs) {
    super({ name: args.name });
    this.k = args.k;
    this.labels = args.labels;
    this.classes = args.classes;
  }

  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [(inputShape as Shape)[0], this.classes];
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const s = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => {
      const k = Math.min(this.k, this.labels.length);
      const kth = tf.slice(tf.topk(s, k).values, [0, k - 1], [-1, 1]);
      const weights = tf.mul(tf.cast(tf.greaterEqual(s, kth), 'float32'), tf.add(tf.mul(s, 0.001), 1));
      const votes = tf.matMul(weights, tf.cast(tf.oneHot(tf.tensor1d(this.labels, 'int32'), this.classes), 'float32'));
      return tf.div(votes, tf.sum(votes, -1, true));
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), k: this.k, labels: this.labels, classes: this.classes };
  }
}

tf.serialization.registerClass(NeighbourVote);
