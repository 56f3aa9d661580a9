// ONNX Runtime's errors as one line: shared by the Node and the browser runtimes (src/browser/twins/ort-runtime.ts).

/**
 * An ONNX Runtime error as one line without its internals: the first line, source paths and C++ signatures cut,
 * "Non-zero status code returned while running X node. Name:'n' Status Message: …" as "node n (X): …".
 */
export function ortReason(err: unknown): string {
  let s = ((err as Error)?.message ?? String(err)).split('\n')[0];
  s = s.replace(/Non-zero status code returned while running (\w+) node\. Name:'([^']*)' Status Message: /, 'node $2 ($1): ');
  s = s.replace(/\/\S*onnxruntime\S*\.(?:h|cc|cpp):\d+ /g, '');
  // A C++ signature after the path: `[static ]type ns::fn(args) ` up to its matching parenthesis.
  const sig = /(?:^|: )((?:static |virtual )?[\w:<>,*& ]*::[\w~]+\()/.exec(s);
  if (sig) {
    let depth = 0;
    let end = sig.index + sig[0].length - 1;
    for (; end < s.length; end++) {
      if (s[end] === '(') depth++;
      else if (s[end] === ')' && --depth === 0) break;
    }
    const start = sig.index + (sig[0].startsWith(': ') ? 2 : 0);
    s = s.slice(0, start) + s.slice(end + 1).trimStart();
  }
  return s.trim();
}
