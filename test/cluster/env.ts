/** Environment variables through which the global setup hands the control plane to the test workers. */
export const CLUSTER_ENV = {
  kubeconfig: 'SLUICE_TEST_KUBECONFIG',
  binDir: 'SLUICE_TEST_BIN_DIR',
} as const;
