/**
 * Every string pattern the schemas use, with what it means in words: error messages say the meaning, never
 * the regular expression. A test fails when a schema uses a pattern that is not listed here.
 */
const SEMVER_CORE =
  'v?(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(-[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?';

export const PATTERNS = {
  dnsLabel: { regex: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', meaning: "a lowercase RFC 1123 label (a-z, 0-9 and '-', starting and ending alphanumeric)" },
  dnsSubdomain: { regex: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$', meaning: "a lowercase RFC 1123 subdomain (a-z, 0-9, '-' and '.')" },
  semver: { regex: `^${SEMVER_CORE}$`, meaning: 'a semantic version such as 1.4.2 (optionally with a v prefix)' },
  releaseVersion: { regex: `^auto$|^${SEMVER_CORE}$`, meaning: 'a semantic version such as 1.4.2 (optionally with a v prefix), or auto' },
  timeOfDay: { regex: '^([01][0-9]|2[0-3]):[0-5][0-9]$', meaning: 'a time of day as HH:MM (24-hour)' },
  httpUrl: { regex: '^https?://\\S+$', meaning: 'an http:// or https:// URL' },
  urlOrReference: { regex: '^(https?://\\S+|\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}\\S*)$', meaning: 'an http:// or https:// URL, or a ${VARIABLE} reference that holds one' },
  packageUrl: { regex: '^(https?|file)://\\S+$', meaning: 'an http://, https:// or file:// URL' },
  sha256: { regex: '^[a-f0-9]{64}$', meaning: 'a SHA-256 digest in lowercase hex (64 characters)' },
  absolutePath: { regex: '^/', meaning: 'an absolute path' },
  variableName: { regex: '^[A-Za-z_][A-Za-z0-9_]*$', meaning: 'a variable name (letters, digits and _, not starting with a digit)' },
  timeZone: { regex: '^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$', meaning: 'an IANA time zone such as Europe/Berlin' },
  imageRepository: { regex: '^[^:@\\s/]+((:[0-9]+)?(/[^:@\\s/]+)+)?$', meaning: 'an image repository without tag or digest, such as registry.local:5000/shop/web (the tag is spec.version)' },
  appName: { regex: '^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$', meaning: "an app name (lowercase a-z, 0-9, '-', '.', '_', starting and ending alphanumeric)" },
  versionRef: { regex: '^[A-Za-z0-9_][A-Za-z0-9_.+-]*$', meaning: "an image tag, version or git ref (letters, digits, '_', '.', '+', '-', no spaces)" },
  containerName: { regex: '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$', meaning: "a container name (letters, digits, '_', '.', '-')" },
  dockerHost: { regex: '^(unix|tcp|ssh)://\\S+$', meaning: 'a Docker engine address such as unix:///var/run/docker.sock or tcp://host:2376' },
  cron: { regex: '^(@(yearly|annually|monthly|weekly|daily|hourly)|\\S+(\\s+\\S+){4,5})$', meaning: 'a cron expression of 5 fields (or 6 with seconds), or @daily and the like' },
} as const;

export const PATTERN_MEANINGS: ReadonlyMap<string, string> = new Map(Object.values(PATTERNS).map((p) => [p.regex, p.meaning]));
