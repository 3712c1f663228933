import { stringify } from 'yaml';

/** The document as YAML: stable key order (as built), no anchors or aliases, 2-space indent, ending in a newline. */
export function toYaml(document: unknown): string {
  return stringify(document, { aliasDuplicateObjects: false, lineWidth: 0 });
}
