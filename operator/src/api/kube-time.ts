/** Kubernetes timestamps (metav1.Time) are RFC 3339 to the second: the form status fields and events carry. */
export const kubeTime = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');
