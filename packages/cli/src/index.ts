/**
 * `@switchyard/cli`: the `switchyard` command (dead letters, topology,
 * doctor). `run(argv, io)` runs it in-process and resolves with the exit
 * code; the binary is `dist/main.js`.
 */

export { type CheckResult, diagnose } from './commands/doctor.js';
export { mermaid, type TopologyView, text as topologyText, topologyOf } from './commands/topology.js';
export { type CliConfig, CONFIG_FILE, loadConfig } from './config.js';
export { type Dashboard, type DashboardOptions, startDashboard } from './dashboard/server.js';
export type { CliIo } from './io.js';
export { ExitCode, run } from './run.js';
