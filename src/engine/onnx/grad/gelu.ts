// Exact GELU, y = x·Φ(x), and its slope Φ(x) + x·φ(x), shared by the exported graphs' Gelu rule and the Keras
// training graph's fused GELU. φ(x) = exp(−u² − ln√(2π)) with u = x/√2, Erf's argument: one Sub where exp(−x²/2)/√(2π)
// would take a Mul more, and u serves both.
import type { GraphBuilder } from '../graph.js';

/** u = x/√2 and Φ(x) = (1 + erf(u))/2. */
export function geluCdf(g: GraphBuilder, x: string): { u: string; cdf: string } {
  const half = g.constant('half', [0.5], []);
  const u = g.op('Mul', [x, g.constant('sqrt_half', [Math.SQRT1_2], [])], {}, 'gelu_u');
  return { u, cdf: g.op('Add', [g.op('Mul', [g.op('Erf', [u]), half]), half], {}, 'gelu_cdf') };
}

/** dGELU/dx = Φ(x) + x·φ(x), from geluCdf's u and Φ. */
export function geluSlope(g: GraphBuilder, x: string, u: string, cdf: string): string {
  const pdf = g.op('Exp', [g.op('Sub', [g.constant('log_inv_sqrt_2pi', [-0.5 * Math.log(2 * Math.PI)], []), g.op('Mul', [u, u])])], {}, 'gelu_pdf');
  return g.op('Add', [cdf, g.op('Mul', [x, pdf])], {}, 'gelu_slope');
}
