/** A fraction as a percentage with one decimal, as the page shows accuracies and probabilities. */
export const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
