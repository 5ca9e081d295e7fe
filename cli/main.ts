#!/usr/bin/env node
import { processContext } from './context.js';
import { run } from './parser.js';

// Output piped into `head` or a closed pager is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

process.exitCode = await run(process.argv.slice(2), processContext());
