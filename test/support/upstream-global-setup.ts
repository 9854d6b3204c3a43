/** Starts the fake upstream (Node side) once for the worker project; tests reach it via TEST_UPSTREAM_URL. */
import type { TestProject } from 'vitest/node';
import { startUpstreamServer } from '../support/upstream-server';

export default async function setup(project: TestProject) {
  const upstream = await startUpstreamServer(0);
  project.provide('upstreamPort', upstream.port);
  return async () => {
    await upstream.close();
  };
}
