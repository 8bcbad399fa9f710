/**
 * Runs an Argo CD health script through the real Lua 5.1 interpreter (Debian's lua5.1; scripts/install-lua.sh)
 * the way Argo CD runs a script configured in argocd-cm: `obj` is a global holding the object, and only the
 * base functions and the table library exist (Argo CD's gopher-lua state for configured scripts opens no
 * string, io or os library, so string methods are gone too). The object reaches Lua as a table literal
 * generated here; JSON null becomes nil, as in Argo CD's decoder.
 */
import { spawnSync } from 'node:child_process';

export const LUA = 'lua5.1';

export const luaRequired = (): boolean => process.env.REQUIRE_LUA === '1';

export function luaAvailable(): boolean {
  const probe = spawnSync(LUA, ['-e', 'assert(_VERSION == "Lua 5.1")'], { encoding: 'utf8' });
  return probe.status === 0;
}

export const MISSING_LUA_MESSAGE =
  'REQUIRE_LUA=1 but lua5.1 does not run: install it with scripts/install-lua.sh (Debian package lua5.1, as root).';

export interface HealthStatus {
  status: string;
  message: string;
}

/** A Lua 5.1 string literal: printable ASCII as is, everything else as decimal byte escapes. */
function luaString(value: string): string {
  let out = '"';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (byte >= 0x20 && byte < 0x7f) out += ch;
    else out += `\\${byte}`;
  }
  return `${out}"`;
}

/** A Lua table constructor for a JSON value (objects as ["key"] = value, arrays 1-based in order). */
export function luaLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return luaString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`no JSON number: ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `{${value.map(luaLiteral).join(', ')}}`;
  if (typeof value === 'object') {
    // A nil value in a constructor would leave the key absent, which is what Argo CD's decoder does too.
    return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `[${luaString(k)}] = ${luaLiteral(v)}`).join(', ')}}`;
  }
  throw new Error(`no JSON value: ${typeof value}`);
}

/**
 * The harness: builds the sandbox, runs the script as a chunk and prints what it returned; errors and a
 * result Argo CD would refuse (not a table, no string status or message) exit non-zero with the reason.
 */
const HARNESS = (scriptPath: string, obj: unknown) => `
local chunk, err = loadfile(${luaString(scriptPath)})
if chunk == nil then io.stderr:write("load: " .. err .. "\\n") os.exit(2) end
local sandbox = { table = table, _VERSION = _VERSION }
for _, name in ipairs({ "assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget", "rawset",
  "select", "tonumber", "tostring", "type", "unpack", "xpcall", "getmetatable", "setmetatable" }) do
  sandbox[name] = _G[name]
end
sandbox.obj = ${luaLiteral(obj)}
setfenv(chunk, sandbox)
local strings = getmetatable("")
local methods = strings.__index
strings.__index = nil
local ok, result = pcall(chunk)
strings.__index = methods
if not ok then io.stderr:write("run: " .. tostring(result) .. "\\n") os.exit(3) end
if type(result) ~= "table" then io.stderr:write("returned " .. type(result) .. ", not a table\\n") os.exit(4) end
if type(result.status) ~= "string" or type(result.message) ~= "string" then
  io.stderr:write("status and message must be strings, got " .. type(result.status) .. " and " .. type(result.message) .. "\\n")
  os.exit(5)
end
io.write(result.status, "\\n", result.message)
`;

/** The health Argo CD would show for `obj` with the script at `scriptPath`. */
export function runHealthScript(scriptPath: string, obj: unknown): HealthStatus {
  const run = spawnSync(LUA, ['-'], { input: HARNESS(scriptPath, obj), encoding: 'utf8' });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`${LUA} ${scriptPath} exited ${run.status}: ${run.stderr}`);
  const newline = run.stdout.indexOf('\n');
  return { status: run.stdout.slice(0, newline), message: run.stdout.slice(newline + 1) };
}
