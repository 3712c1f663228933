#!/usr/bin/env node
import { run } from './run.js';

/** The `switchyard` binary: runs the CLI on the process's arguments and exits with its code. */
process.exitCode = await run(process.argv.slice(2));
