/**
 * Images the suite deploys. They are real, small and pullable, so the same tests pass on a real cluster;
 * pause runs until stopped and is ready at once (no probes), busybox runs a command and exits.
 */
export const IMAGE = 'registry.k8s.io/pause:3.9';
export const IMAGE_NEXT = 'registry.k8s.io/pause:3.10';
export const SIDECAR_IMAGE = 'registry.k8s.io/pause:3.8';
export const JOB_IMAGE = 'busybox:1.36';
