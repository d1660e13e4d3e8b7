// The demo app: a tiny HTTP server with no dependencies. Its behaviour comes from the environment, so a bad release
// is just a different pod template in Git:
//   VERSION      what it reports (default "dev")
//   ERROR_RATE   share of requests answered 500, 0..1 (default 0); deterministic: exactly that share, evenly spread
//   LATENCY_MS   added to every request (default 0)
//   PORT, HOST   where it listens (default 8080 on 0.0.0.0; the demo's data-plane emulator uses 127.0.0.1)
// GET /healthz answers 200 at once (the readiness probe); GET /stats answers {version, served}: how many business
// requests this process answered (the data-plane tests count each revision's share by it, not by the proxy's say).
// Every other request is "business" traffic.
import { createServer } from 'node:http';

function number(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    process.stderr.write(`demo-app: ${name}=${JSON.stringify(raw)} must be a number in [${min}, ${max}]\n`);
    process.exit(2);
  }
  return n;
}

const version = process.env.VERSION ?? 'dev';
const errorRate = number('ERROR_RATE', 0, 0, 1);
const latencyMs = number('LATENCY_MS', 0, 0, 60_000);
const port = number('PORT', 8080, 0, 65535);
const host = process.env.HOST ?? '0.0.0.0';

// An accumulator instead of Math.random(): 0.25 fails exactly every 4th request, so a demo never flakes.
let debt = 0;
let served = 0;

const server = createServer((req, res) => {
  const arrived = performance.now();
  if (req.url === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
    return;
  }
  if (req.url === '/stats') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ version, served }) + '\n');
    return;
  }
  served++;
  debt += errorRate;
  const fail = debt >= 1 - 1e-9;
  if (fail) debt -= 1;
  setTimeout(() => {
    const body = JSON.stringify({ version, ok: !fail, served }) + '\n';
    // Server-Timing: the time spent in the app, as a sidecar next to it would measure it (the load generator's own
    // delays are not the app's latency).
    const dur = (performance.now() - arrived).toFixed(1);
    res.writeHead(fail ? 500 : 200, { 'Content-Type': 'application/json', 'Server-Timing': `app;dur=${dur}` }).end(body);
  }, latencyMs);
});

server.listen(port, host, () => {
  const addr = server.address();
  process.stdout.write(`demo-app ${version} listening on ${host}:${typeof addr === 'object' && addr !== null ? addr.port : port} (ERROR_RATE=${errorRate}, LATENCY_MS=${latencyMs})\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
