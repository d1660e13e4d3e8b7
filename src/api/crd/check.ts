// An independent check of the structural-schema rules (k8s.io/apiextensions-apiserver/pkg/apiserver/schema),
// used by the unit tests and by the generator before it writes anything.
import type { JSONSchemaProps } from './types.ts';

/** Every rule violation found, each naming its path; empty means structural. */
export function structuralProblems(node: unknown, path = '<root>'): string[] {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return [`${path}: not a schema object`];
  const n = node as JSONSchemaProps & Record<string, unknown>;
  const problems: string[] = [];
  const intOrString = n['x-kubernetes-int-or-string'] === true;
  const preserve = n['x-kubernetes-preserve-unknown-fields'] === true;

  for (const key of ['$schema', '$ref', '$defs', 'definitions', 'id', '$id', 'const', 'propertyNames', 'patternProperties']) {
    if (key in n) problems.push(`${path}: "${key}" is not allowed in a CRD schema`);
  }
  for (const key of ['anyOf', 'oneOf', 'allOf', 'not']) {
    if (key in n && !intOrString) problems.push(`${path}: "${key}" without x-kubernetes-int-or-string`);
  }
  if (intOrString && n.type !== undefined) problems.push(`${path}: int-or-string must not have a type`);
  if (!intOrString && !preserve && n.type === undefined) problems.push(`${path}: missing type`);
  if (n.properties !== undefined && n.additionalProperties !== undefined) problems.push(`${path}: additionalProperties beside properties`);
  if (typeof n.additionalProperties === 'boolean') problems.push(`${path}: additionalProperties must be a schema, not a boolean`);
  if (n.properties !== undefined && n.type !== 'object') problems.push(`${path}: properties on a node whose type is not object`);
  if (n.items !== undefined && n.type !== 'array') problems.push(`${path}: items on a node whose type is not array`);
  if (n.type === 'array' && n.items === undefined) problems.push(`${path}: array without items`);
  if (n.maximum === Number.MAX_SAFE_INTEGER || n.minimum === -Number.MAX_SAFE_INTEGER) problems.push(`${path}: zod's safe-integer bound leaked`);

  for (const [k, v] of Object.entries(n.properties ?? {})) problems.push(...structuralProblems(v, `${path}.${k}`));
  if (n.items !== undefined) problems.push(...structuralProblems(n.items, `${path}[]`));
  if (n.additionalProperties !== undefined && typeof n.additionalProperties === 'object') {
    problems.push(...structuralProblems(n.additionalProperties, `${path}[*]`));
  }
  return problems;
}
