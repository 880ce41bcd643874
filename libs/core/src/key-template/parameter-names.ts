/**
 * Reads the parameter names of a function from its source text.
 *
 * TypeScript emits no parameter-name metadata, and key templates (`'order:{orderId}'`) must be
 * checked at bootstrap, so the names come from `Function.prototype.toString()`. Destructured
 * parameters have no name and yield `undefined` (address them by position: `'{0.id}'`).
 * Rest parameters yield their name; a template may only address them by position.
 * @internal
 */
export function readParameterNames(fn: Function): (string | undefined)[] {
  const source = stripComments(fn.toString());
  const open = source.indexOf('(');
  const arrow = source.indexOf('=>');
  if (open === -1 || (arrow !== -1 && arrow < open)) {
    // `x => ...`: a single bare parameter.
    const bare = /^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(source);
    return bare ? [bare[1]] : [];
  }
  const params: string[] = [];
  let depth = 0;
  let current = '';
  let quote: string | undefined;
  for (let i = open + 1; i < source.length; i++) {
    const ch = source[i];
    if (quote !== undefined) {
      current += ch;
      if (ch === '\\') {
        current += source[++i] ?? '';
      } else if (ch === quote) {
        quote = undefined;
      }
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      quote = ch;
      current += ch;
    } else if (ch === '(' || ch === '[' || ch === '{') {
      depth++;
      current += ch;
    } else if (ch === ')' || ch === ']' || ch === '}') {
      if (depth === 0) break;
      depth--;
      current += ch;
    } else if (ch === ',' && depth === 0) {
      params.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (current.trim() !== '') params.push(current);
  return params.map((param) => {
    const match = /^\s*(?:\.\.\.)?\s*([A-Za-z_$][\w$]*)/.exec(param);
    return match ? match[1] : undefined;
  });
}

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
}
