/** `npm run bench`: every benchmark, each writing bench/results/<name>.json and a readable table. */
import { main as anchoring } from './anchoring.js';
import { main as claims } from './claims.js';
import { main as federation } from './federation.js';
import { main as gas } from './gas.js';
import { main as http } from './http.js';
import { main as log } from './log.js';
import { main as records } from './records.js';
import { main as supply } from './supply.js';

await gas();
await records();
await log();
await federation();
await anchoring();
await http();
await supply();
await claims();
