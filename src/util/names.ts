/**
 * Keras-style automatic layer names (`dense`, `dense_1`, …), unique within one model. tfjs's own automatic
 * names (`dense_Dense1`) would not match Keras's summaries or weight files.
 */
export class LayerNamer {
  private readonly taken: Set<string>;

  constructor(taken: Iterable<string> = []) {
    this.taken = new Set(taken);
  }

  next(base: string): string {
    let name = base;
    for (let i = 1; this.taken.has(name); i++) name = `${base}_${i}`;
    this.taken.add(name);
    return name;
  }
}
