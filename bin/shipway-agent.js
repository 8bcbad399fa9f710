#!/usr/bin/env node
// The agent is written in TypeScript; tsx's loader runs it without a build step, from a clone or an install.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../agent/src/cli.ts');
// Exit once the agent has stopped: its journal is on disk, and nothing else may keep the process alive.
process.exit(await main(process.argv.slice(2)));
