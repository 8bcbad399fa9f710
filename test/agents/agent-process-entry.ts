/** `shipway-agent` as a child process of the tests, running the marker executor instead of the real ones. */
import { main } from '../../agent/src/cli.ts';
import { markerExecutors } from './marker-executor.ts';

process.exit(await main(process.argv.slice(2), { executors: markerExecutors }));
