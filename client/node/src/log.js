// One JSON object per line on stderr, like wxcrypto-server's own logs.
// Callers pass fields, never a body, a message or a query string: those hold
// users' messages and signatures.
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 };

export function jsonLogger({ level = 'info', stream = process.stderr } = {}) {
  const threshold = LEVELS[level] ?? LEVELS.info;
  const write = (name) => (msg, fields = {}) => {
    if (LEVELS[name] < threshold) return;
    stream.write(`${JSON.stringify({ ts: new Date().toISOString(), level: name, msg, ...fields })}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
