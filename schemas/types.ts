// Writes one TypeScript type per schema (lib/core/generated/types.ts) from the subset of JSON Schema the
// schemas use: type, properties, required, additionalProperties, enum, const, items, oneOf, anyOf, $ref to $defs.
// Object and union $defs become named types (root name + def name); scalar ones are inlined where used.

export interface SchemaNode {
  $id?: string;
  title?: string;
  description?: string;
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: boolean | SchemaNode;
  enum?: unknown[];
  const?: unknown;
  items?: SchemaNode;
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  $ref?: string;
  $defs?: Record<string, SchemaNode>;
}

// Keywords that only constrain values TypeScript cannot express; anything else is refused so a new keyword is not silently dropped.
const IGNORED = new Set([
  '$schema',
  'title',
  'description',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'propertyNames',
]);
const HANDLED = new Set(['$id', 'type', 'properties', 'required', 'additionalProperties', 'enum', 'const', 'items', 'oneOf', 'anyOf', '$ref', '$defs']);

export function pascalCase(name: string): string {
  return name.replace(/(^|-)(.)/g, (_, __, c: string) => c.toUpperCase());
}

/** `schemas` maps each schema's file base name (e.g. `journal-record`) to its parsed JSON. */
export function generateTypes(schemas: ReadonlyMap<string, SchemaNode>): string {
  const out: string[] = [];
  for (const [base, schema] of [...schemas].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const root = pascalCase(base);
    const defs = schema.$defs ?? {};
    const named = new Map(
      Object.entries(defs)
        .filter(([, def]) => isNamed(def))
        .map(([key]) => [key, root + pascalCase(key)]),
    );
    const emit = (node: SchemaNode, indent: string): string =>
      typeOf(
        node,
        indent,
        (ref) => {
          const key = /^#\/\$defs\/([A-Za-z0-9_-]+)$/.exec(ref)?.[1];
          if (key === undefined || !(key in defs)) throw new Error(`${base}: unsupported $ref ${ref}`);
          return named.get(key) ?? emit(defs[key]!, indent);
        },
        base,
      );
    out.push(declaration(root, schema, emit, doc(schema.title, schema.description, '')));
    for (const [key, name] of named) out.push(declaration(name, defs[key]!, emit, doc(undefined, defs[key]!.description, '')));
  }
  return out.join('\n\n') + '\n';
}

function declaration(name: string, node: SchemaNode, emit: (node: SchemaNode, indent: string) => string, comment: string): string {
  return `${comment === '' ? '' : `${comment}\n`}export type ${name} = ${emit(node, '')};`;
}

function isNamed(def: SchemaNode): boolean {
  return (
    def.type === 'object' ||
    def.properties !== undefined ||
    def.oneOf !== undefined ||
    def.anyOf !== undefined ||
    def.enum !== undefined ||
    def.const !== undefined
  );
}

function typeOf(node: SchemaNode, indent: string, ref: (ref: string) => string, where: string): string {
  for (const key of Object.keys(node)) {
    if (!IGNORED.has(key) && !HANDLED.has(key)) throw new Error(`${where}: the type generator does not handle the keyword ${key}`);
  }
  if (node.$ref !== undefined) return ref(node.$ref);
  if (node.const !== undefined) return literal(node.const);
  if (node.enum !== undefined) return node.enum.map(literal).join(' | ');
  const alternatives = node.oneOf ?? node.anyOf;
  if (alternatives !== undefined) return alternatives.map((alt) => typeOf(alt, indent, ref, where)).join(' | ');
  const types = node.type === undefined ? [] : Array.isArray(node.type) ? node.type : [node.type];
  if (types.length === 0) return node.properties !== undefined ? objectType(node, indent, ref, where) : 'unknown';
  return types
    .map((t) => {
      switch (t) {
        case 'string':
          return 'string';
        case 'integer':
        case 'number':
          return 'number';
        case 'boolean':
          return 'boolean';
        case 'null':
          return 'null';
        case 'array': {
          const item = node.items === undefined ? 'unknown' : typeOf(node.items, indent, ref, where);
          return node.items !== undefined && isUnion(node.items) ? `Array<${item}>` : `${item}[]`;
        }
        case 'object':
          return objectType(node, indent, ref, where);
        default:
          throw new Error(`${where}: unknown type ${t}`);
      }
    })
    .join(' | ');
}

function isUnion(node: SchemaNode): boolean {
  return (node.oneOf ?? node.anyOf ?? node.enum ?? (Array.isArray(node.type) ? node.type : [])).length > 1;
}

function objectType(node: SchemaNode, indent: string, ref: (ref: string) => string, where: string): string {
  const inner = `${indent}  `;
  const members: string[] = [];
  const required = new Set(node.required ?? []);
  for (const [name, prop] of Object.entries(node.properties ?? {})) {
    const comment = doc(undefined, prop.description, inner);
    if (comment !== '') members.push(comment);
    const key = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
    members.push(`${inner}${key}${required.has(name) ? '' : '?'}: ${typeOf(prop, inner, ref, `${where}.${name}`)};`);
  }
  const extra = node.additionalProperties;
  if (extra === undefined || extra === true || typeof extra === 'object') {
    if (members.length === 0) return `Record<string, ${typeof extra === 'object' ? typeOf(extra, indent, ref, `${where}.*`) : 'unknown'}>`;
    members.push(`${inner}[key: string]: ${typeof extra === 'object' ? typeOf(extra, inner, ref, `${where}.*`) : 'unknown'};`);
  }
  if (members.length === 0) return 'Record<string, never>';
  return `{\n${members.join('\n')}\n${indent}}`;
}

function literal(value: unknown): string {
  return JSON.stringify(value);
}

function doc(title: string | undefined, description: string | undefined, indent: string): string {
  const text = [title, description].filter((s): s is string => s !== undefined).join(': ');
  return text === '' ? '' : `${indent}/** ${text.replace(/\*\//g, '*\\/')} */`;
}
