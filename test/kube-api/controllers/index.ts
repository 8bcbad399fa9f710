/** The workload controllers a real cluster runs (Deployments, ReplicaSets, Pods, StatefulSets, DaemonSets, Jobs). */
import type { KubeApi } from '../api.ts';
import type { EmulatorOptions } from '../emulator.ts';
import { startDaemonSetController } from './daemonset-controller.ts';
import { startDeploymentController } from './deployment-controller.ts';
import { startJobController } from './job-controller.ts';
import { startPodController } from './pod-controller.ts';
import { startReplicaSetController } from './replicaset-controller.ts';
import { startStatefulSetController } from './statefulset-controller.ts';

export type ControllerStarter = (api: KubeApi, options: EmulatorOptions) => () => void;

export { startDaemonSetController, startDeploymentController, startJobController, startPodController, startReplicaSetController, startStatefulSetController };

/** Start them all with `startEmulator({ controllers: workloadControllers })`; pods become ready after `podReadyDelayMs`. */
export const workloadControllers: ControllerStarter[] = [
  startDeploymentController,
  startReplicaSetController,
  startPodController,
  startStatefulSetController,
  startDaemonSetController,
  startJobController,
];
