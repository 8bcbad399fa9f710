#!/usr/bin/env node
// The kubectl plugin: kubectl runs the first `kubectl-shipway` on PATH for `kubectl shipway ...`, with the
// arguments after "shipway" (its own flags such as -n and --context included) and the same environment
// (KUBECONFIG). It is the shipway CLI under the plugin's name; tsx runs the TypeScript without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../operator/src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2), undefined, 'kubectl shipway');
