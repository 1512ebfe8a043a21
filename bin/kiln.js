#!/usr/bin/env node
// Entry point: runs the TypeScript CLI through tsx so `npx kiln` works right after `npm ci`, no build step.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
