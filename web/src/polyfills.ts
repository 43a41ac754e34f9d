/** Buffer for the shared log modules (entry encoding), before anything else loads. */
import { Buffer } from 'buffer';

(globalThis as { Buffer?: unknown }).Buffer ??= Buffer;
