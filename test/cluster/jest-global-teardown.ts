import type { ControlPlane } from './controlplane.ts';

export default async function teardown(): Promise<void> {
  const g = globalThis as { __sluiceControlPlane?: ControlPlane };
  await g.__sluiceControlPlane?.stop();
  delete g.__sluiceControlPlane;
}
