/**
 * `npm run --silent kube -- --port <port> --kubeconfig <file> [--http] [--data-file <file>]`: runs the
 * Kubernetes API emulator in the foreground, prints one line with `ready` once it listens, stops on
 * SIGTERM or SIGINT.
 */
import { Command } from 'commander';
import { startEmulator } from './emulator.ts';
import { workloadControllers } from './controllers/index.ts';

const program = new Command()
  .name('kube-api-emulator')
  .option('--port <port>', 'port to listen on (0 picks a free one)', '0')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--kubeconfig <file>', 'write a kubeconfig for kubectl, helm and client-node here')
  .option('--http', 'serve plain HTTP instead of HTTPS')
  .option('--data-file <file>', 'keep objects in this file across restarts')
  .option('--pod-ready-delay <ms>', 'how long a simulated Pod takes to become ready', '500')
  .parse();

const opts = program.opts<{ port: string; host: string; kubeconfig?: string; http?: boolean; dataFile?: string; podReadyDelay: string }>();
const emulator = await startEmulator({
  port: Number(opts.port),
  host: opts.host,
  ...(opts.http ? { http: true } : {}),
  ...(opts.dataFile ? { dataFile: opts.dataFile } : {}),
  ...(opts.kubeconfig ? { kubeconfigPath: opts.kubeconfig } : {}),
  podReadyDelayMs: Number(opts.podReadyDelay),
  controllers: workloadControllers,
});
console.log(`ready ${emulator.url}${opts.kubeconfig ? ` kubeconfig=${opts.kubeconfig}` : ''}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await emulator.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
