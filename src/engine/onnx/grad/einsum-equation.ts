// Einsum equations as index letters per operand, with '...' spelled out as letters for the operands' ranks:
// what both Einsum's shape inference and its gradient rule read.

export interface EinsumTerms {
  inputs: string[];
  output: string;
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The terms of `equation` for operands of `ranks`; undefined where a rank is needed and unknown. */
export function einsumTerms(equation: string, ranks: Array<number | undefined>): EinsumTerms | undefined {
  const [lhs, rhs] = equation.replace(/\s/g, '').split('->');
  const raw = lhs.split(',');
  let ellipsis = 0;
  for (const [i, t] of raw.entries()) {
    if (!t.includes('...')) continue;
    const r = ranks[i];
    if (r === undefined) return undefined;
    ellipsis = Math.max(ellipsis, r - (t.length - 3));
  }
  // Letters the equation does not use stand for the axes '...' covers (outermost first).
  const dots = [...LETTERS]
    .filter((ch) => !equation.includes(ch))
    .slice(0, ellipsis)
    .join('');
  // Broadcast '...' aligns from the right: an operand with fewer such axes takes the innermost letters.
  const inputs = raw.map((t, i) => (t.includes('...') ? t.replace('...', dots.slice(ellipsis - ((ranks[i] as number) - (t.length - 3)))) : t));
  let output: string;
  if (rhs !== undefined) output = rhs.replace('...', dots);
  else {
    // Implicit output: '...' then the letters used once, alphabetically.
    const counts = new Map<string, number>();
    for (const ch of inputs.join('')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    output =
      dots +
      [...counts]
        .filter(([ch, n]) => n === 1 && !dots.includes(ch))
        .map(([ch]) => ch)
        .sort()
        .join('');
  }
  return { inputs, output };
}
