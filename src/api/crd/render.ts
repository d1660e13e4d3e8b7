// The exact bytes of crds/*.yaml. Keys are sorted so that the output depends only on the schemas, never on the
// order in which object literals happen to be written.
import { stringify } from 'yaml';
import { buildCrds } from './build.ts';

export const CRD_FILE_SUFFIX = '.sluice.dev.yaml';

const HEADER = '# Generated from src/api by `npm run gen` (scripts/gen-crds.ts). Do not edit: change the zod schemas.\n';

export interface CrdFile {
  /** File name inside crds/, `<plural>.sluice.dev.yaml`. */
  name: string;
  content: string;
}

export function renderCrdFiles(): CrdFile[] {
  return buildCrds().map((crd) => ({
    name: `${crd.spec.names.plural}${CRD_FILE_SUFFIX}`,
    content: HEADER + stringify(crd, { sortMapEntries: true, lineWidth: 0 }),
  }));
}
