/**
 * Docker tests run against the throwaway engine and registry that scripts/with-docker.sh starts (it exports
 * DOCKER_HOST and SHIPWAY_TEST_*). Without them the Docker tests are skipped, unless REQUIRE_DOCKER=1 makes
 * them fail: CI sets it so that a missing engine can never pass as a green run.
 */
import { describe } from 'vitest';

export const dockerRequired = (): boolean => process.env.REQUIRE_DOCKER === '1';

export interface TestDockerEnvironment {
  /** The engine address (unix:///…/docker.sock). */
  dockerHost: string;
  /** host:port of the local registry. */
  registry: string;
  /** Repository of the test image in that registry, without tag. */
  image: string;
  /** Tags pushed: v1 and v2 serve /health, /version and /env on 127.0.0.1:$HTTP_PORT; broken serves nothing. */
  tags: string[];
  /** The same engine on tcp:// with --tlsverify, and the directory with the client's ca.pem, cert.pem, key.pem. */
  tls?: { host: string; dir: string };
}

export const MISSING_DOCKER_MESSAGE =
  'REQUIRE_DOCKER=1 but no test Docker engine is set up: run the tests through scripts/with-docker.sh ' +
  '(it starts a throwaway dockerd and registry; Debian packages docker.io docker-registry busybox-static, as root).';

export function testDockerEnvironment(): TestDockerEnvironment | undefined {
  const { DOCKER_HOST, SHIPWAY_TEST_REGISTRY, SHIPWAY_TEST_IMAGE, SHIPWAY_TEST_IMAGE_TAGS } = process.env;
  if (!DOCKER_HOST || !SHIPWAY_TEST_REGISTRY || !SHIPWAY_TEST_IMAGE) return undefined;
  return {
    dockerHost: DOCKER_HOST,
    registry: SHIPWAY_TEST_REGISTRY,
    image: SHIPWAY_TEST_IMAGE,
    tags: (SHIPWAY_TEST_IMAGE_TAGS ?? '').split(/\s+/).filter(Boolean),
    ...(process.env.SHIPWAY_TEST_DOCKER_TLS_HOST && process.env.SHIPWAY_TEST_DOCKER_TLS_DIR
      ? { tls: { host: process.env.SHIPWAY_TEST_DOCKER_TLS_HOST, dir: process.env.SHIPWAY_TEST_DOCKER_TLS_DIR } }
      : {}),
  };
}

/** The environment, or a failure naming how to get one (for hooks of a suite declared with describeWithDocker). */
export function requireTestDocker(): TestDockerEnvironment {
  const environment = testDockerEnvironment();
  if (!environment) throw new Error(MISSING_DOCKER_MESSAGE);
  return environment;
}

/** `describe`, skipped when there is no test engine and REQUIRE_DOCKER is not 1. */
export function describeWithDocker(title: string, suite: () => void): void {
  const skip = !testDockerEnvironment() && !dockerRequired();
  (skip ? describe.skip : describe)(title, suite);
}
