import { readFileSync } from 'node:fs';
import ts from 'typescript';

/**
 * The `@default` tags written in an options interface file, by dotted property path, as parsed
 * literals. Nested type literals (`fleet?: { flushIntervalMs?: number }`) and interfaces of the
 * same file named by a property's type (`outlier?: OutlierOptions`) are followed. A tag whose
 * text is not a single literal ("REDIS_URL when set, else ...") is kept as `{ text }`.
 *
 * Used by each lib's settings spec to check that its frozen `DEFAULTS` and its TSDoc say the
 * same thing: a default is written in one place and documented from it, never drifting apart.
 */
export function documentedDefaults(
  file: string | URL,
  rootInterface: string,
): Map<string, unknown> {
  const source = ts.createSourceFile(
    String(file),
    readFileSync(file, 'utf8'),
    ts.ScriptTarget.ES2022,
    true,
  );
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node)) interfaces.set(node.name.text, node);
  });
  const root = interfaces.get(rootInterface);
  if (root === undefined) throw new Error(`${String(file)} declares no interface ${rootInterface}`);
  const found = new Map<string, unknown>();
  const visit = (members: ts.NodeArray<ts.TypeElement>, prefix: string, seen: Set<string>) => {
    for (const member of members) {
      if (!ts.isPropertySignature(member) || member.name === undefined) continue;
      const path = `${prefix}${member.name.getText(source)}`;
      const tag = ts.getJSDocTags(member).find((t) => t.tagName.text === 'default');
      if (tag !== undefined) found.set(path, parseLiteral(ts.getTextOfJSDocComment(tag.comment)));
      const nested = nestedMembers(member.type, interfaces);
      if (nested !== undefined && !seen.has(nested.key)) {
        visit(nested.members, `${path}.`, new Set([...seen, nested.key]));
      }
    }
  };
  visit(root.members, '', new Set([rootInterface]));
  return found;
}

/**
 * Asserts that every leaf of `defaults` is documented with the same `@default` literal, and
 * that no property documents a literal default that `defaults` does not hold. Returns the
 * mismatches (empty when they agree) so the spec can `expect(...).toEqual([])` and print them.
 */
export function undocumentedDefaults(
  defaults: object,
  documented: ReadonlyMap<string, unknown>,
): string[] {
  const problems: string[] = [];
  const leaves = flatten(defaults);
  for (const [path, value] of leaves) {
    if (!documented.has(path)) {
      problems.push(`${path}: DEFAULTS has ${JSON.stringify(value)} but the TSDoc has no @default`);
      continue;
    }
    const doc = documented.get(path);
    if (!sameValue(doc, value)) {
      problems.push(
        `${path}: DEFAULTS has ${JSON.stringify(value)} but the TSDoc says @default ${describe(doc)}`,
      );
    }
  }
  for (const [path, doc] of documented) {
    if (!leaves.has(path) && !isText(doc) && !hasLeafUnder(leaves, path)) {
      problems.push(`${path}: the TSDoc says @default ${describe(doc)} but DEFAULTS has no value`);
    }
  }
  return problems;
}

function nestedMembers(
  type: ts.TypeNode | undefined,
  interfaces: ReadonlyMap<string, ts.InterfaceDeclaration>,
): { key: string; members: ts.NodeArray<ts.TypeElement> } | undefined {
  if (type === undefined) return undefined;
  if (ts.isTypeLiteralNode(type)) return { key: `literal@${type.pos}`, members: type.members };
  if (ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName)) {
    const name = type.typeName.text;
    const declaration = interfaces.get(name);
    if (declaration !== undefined) return { key: name, members: declaration.members };
    if (name === 'Readonly' && type.typeArguments?.length === 1) {
      return nestedMembers(type.typeArguments[0], interfaces);
    }
  }
  if (ts.isUnionTypeNode(type)) {
    for (const part of type.types) {
      const nested = nestedMembers(part, interfaces);
      if (nested !== undefined) return nested;
    }
  }
  return undefined;
}

function parseLiteral(text: string | undefined): unknown {
  const trimmed = (text ?? '').trim();
  if (/^-?[\d_]+(\.\d+)?$/.test(trimmed)) return Number(trimmed.replaceAll('_', ''));
  if (trimmed === 'true' || trimmed === 'false') return trimmed === 'true';
  const quoted = /^'([^']*)'$|^"([^"]*)"$|^`([^`]*)`$/.exec(trimmed);
  if (quoted !== null) return quoted[1] ?? quoted[2] ?? quoted[3];
  if (trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed.replaceAll("'", '"')) as unknown; // [100, 200] or ['a', 'b']
    } catch {
      return { text: trimmed };
    }
  }
  return { text: trimmed };
}

function flatten(
  value: object,
  prefix = '',
  out = new Map<string, unknown>(),
): Map<string, unknown> {
  for (const [key, child] of Object.entries(value)) {
    const path = `${prefix}${key}`;
    if (child !== null && typeof child === 'object' && !Array.isArray(child)) {
      flatten(child, `${path}.`, out);
    } else {
      out.set(path, child);
    }
  }
  return out;
}

function hasLeafUnder(leaves: ReadonlyMap<string, unknown>, path: string): boolean {
  for (const key of leaves.keys()) if (key.startsWith(`${path}.`)) return true;
  return false;
}

function isText(value: unknown): value is { text: string } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'text' in value;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function describe(value: unknown): string {
  return isText(value) ? `'${value.text}' (not a literal)` : JSON.stringify(value);
}
