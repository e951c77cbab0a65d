import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import * as apps from 'kubernetes-models/apps/v1';
import * as batch from 'kubernetes-models/batch/v1';
import * as core from 'kubernetes-models/v1';
import { marina, tempDir } from './helpers/cli.js';

/**
 * deploy/k8s without a cluster (none can run here): every object of every manifest is validated against the
 * Kubernetes API's JSON schemas (kubernetes-models: types, enums, required fields) and, as a cluster's strict
 * field validation would, against the API types' field names (the schemas allow unknown fields, so a misspelt
 * `livenesProbe` would pass them). Then what no schema sees: the Service and the Deployment select the server's
 * pod labels, named ports line up, every Secret and claim a pod mounts exists with the key it reads, the files
 * given to --secret-file and --out lie under those mounts, the Job's completions × --count are the server's n,
 * the clients dial the Service, and every flag and MARINA_ variable is one `marina server|client --help` lists.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIR = join(ROOT, 'deploy', 'k8s');
const MODELS = join(ROOT, 'node_modules', 'kubernetes-models');

type Obj = Record<string, any>;
interface Manifest {
  file: string;
  obj: Obj;
}

function loadManifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const obj = doc.toJS() as Obj | null;
      if (obj !== null) out.push({ file, obj });
    }
  }
  return out;
}

/** kubernetes-models' classes by apiVersion (the kinds deploy/k8s uses live in these three). */
const MODULES: Record<string, Record<string, unknown>> = { v1: core, 'apps/v1': apps, 'batch/v1': batch };

/** Validates with kubernetes-models' class of the object's kind; throws on the first schema violation. */
function validate(obj: Obj): void {
  const Model = MODULES[obj['apiVersion']]?.[obj['kind']] as (new (data: Obj) => { validate(): void }) | undefined;
  if (!Model) throw new Error(`no kubernetes-models class for ${obj['apiVersion']} ${obj['kind']}`);
  new Model(obj).validate();
}

/**
 * Fields the API types do not have, found by walking the object along the types' declarations (one interface per
 * .d.ts file in kubernetes-models; a property's type is another interface, an Array of one, or a leaf).
 */
function unknownFields(obj: Obj): string[] {
  const found: string[] = [];
  const walk = (value: unknown, file: string, path: string) => {
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) return value.forEach((v, i) => walk(v, file, `${path}[${i}]`));
    const { props, imports } = declaration(file);
    for (const [key, v] of Object.entries(value)) {
      const type = props.get(key);
      if (type === undefined) {
        found.push(`${path}.${key}`);
        continue;
      }
      const ref = /^(?:Array<)?(I\w+)>?$/.exec(type)?.[1];
      const target = ref ? imports.get(ref) : undefined;
      if (target) walk(v, target, `${path}.${key}`);
    }
  };
  walk(obj, join(MODELS, obj['apiVersion'], `${obj['kind']}.d.ts`), obj['kind']);
  return found;
}

const declarations = new Map<string, { props: Map<string, string>; imports: Map<string, string> }>();
function declaration(file: string): { props: Map<string, string>; imports: Map<string, string> } {
  let d = declarations.get(file);
  if (d) return d;
  const text = readFileSync(file, 'utf8');
  const decl = /export interface I\w+(?: extends (\w+))? \{([\s\S]*?)\n\}/.exec(text);
  if (!decl) throw new Error(`no interface in ${file}`);
  const props = new Map([...decl[2]!.matchAll(/^ {4}"([^"]+)"\??: (.*?);?$/gm)].map((m) => [m[1]!, m[2]!] as [string, string])); // a map's type starts `{`: a leaf
  if (decl[1] === 'TypeMeta') props.set('apiVersion', 'string').set('kind', 'string'); // a top-level kind
  else if (decl[1] !== undefined) throw new Error(`${file}: interface extends ${decl[1]}, which this walk does not know`);
  const imports = new Map<string, string>();
  for (const m of text.matchAll(/^import \{ (I\w+) \} from "([^"]+)";$/gm)) {
    const spec = m[2]!;
    const path = spec.startsWith('.') ? join(dirname(file), spec.replace(/\.js$/, '.d.ts')) : join(ROOT, 'node_modules', `${spec}.d.ts`);
    imports.set(m[1]!, path);
  }
  d = { props, imports };
  declarations.set(file, d);
  return d;
}

/** `--flag` names a command line uses, and the flag each MARINA_ variable of an env list stands for. */
const flagsOf = (args: string[]) => args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!);
const envFlags = (env: { name: string }[] = []) =>
  env.map((e) => e.name).filter((n) => n.startsWith('MARINA_')).map((n) => `--${n.slice('MARINA_'.length).toLowerCase().replace(/_/g, '-')}`);
const argValue = (args: string[], flag: string) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};

describe('deploy/k8s manifests (validated offline: no cluster runs here)', () => {
  const manifests = loadManifests();
  const find = (kind: string) => manifests.filter((m) => m.obj['kind'] === kind).map((m) => m.obj);
  const one = (kind: string) => {
    const all = find(kind);
    expect(all, `exactly one ${kind}`).toHaveLength(1);
    return all[0]!;
  };

  it('every object validates against the Kubernetes schemas and uses only fields the API types have', () => {
    expect(manifests.map((m) => `${m.file}:${m.obj['kind']}`).sort()).toEqual(
      ['clients.yaml:Job', 'pvc.yaml:PersistentVolumeClaim', 'secret.yaml:Secret', 'server.yaml:Deployment', 'server.yaml:Service'],
    );
    for (const { file, obj } of manifests) {
      expect(() => validate(obj), `${file} ${obj['kind']}`).not.toThrow();
      expect(unknownFields(obj), `${file} ${obj['kind']}: fields the API does not have`).toEqual([]);
    }
  });

  it('the validators catch what they are for: a wrong type, a wrong enum, a missing field, an unknown field', () => {
    const deployment = structuredClone(one('Deployment'));
    deployment['spec']['replicas'] = 'one';
    expect(() => validate(deployment)).toThrow(/replicas must be integer/);
    const job = structuredClone(one('Job'));
    job['spec']['completionMode'] = 'Numbered';
    expect(() => validate(job)).toThrow(/completionMode must be equal to one of the allowed values/);
    const service = structuredClone(one('Service'));
    delete service['spec']['ports'][0]['port'];
    expect(() => validate(service)).toThrow(/ports\/0 must have required property port/);
    const typo = structuredClone(one('Deployment'));
    const container = typo['spec']['template']['spec']['containers'][0];
    container['livenesProbe'] = container['livenessProbe'];
    container['livenessProbe']['httpGet']['paht'] = '/x';
    expect(unknownFields(typo)).toEqual([
      'Deployment.spec.template.spec.containers[0].livenessProbe.httpGet.paht',
      'Deployment.spec.template.spec.containers[0].livenesProbe',
    ]);
  });

  it('cross-references: labels, ports, probes, secret and claim, client count, the Service the clients dial', () => {
    const deployment = one('Deployment');
    const service = one('Service');
    const job = one('Job');
    const secrets = new Map(find('Secret').map((s) => [s['metadata']['name'] as string, s]));
    const claims = new Set(find('PersistentVolumeClaim').map((c) => c['metadata']['name'] as string));
    const pod = deployment['spec']['template'];
    const labels = pod['metadata']['labels'] as Record<string, string>;
    expect(labels).toMatchObject(deployment['spec']['selector']['matchLabels']);
    expect(labels).toMatchObject(service['spec']['selector']);
    expect(job['spec']['template']['metadata']['labels']).not.toMatchObject(service['spec']['selector']); // clients are no endpoints

    const server = pod['spec']['containers'][0];
    const serverArgs = server['args'] as string[];
    expect(serverArgs[0]).toBe('server');
    const port = server['ports'].find((p: Obj) => p['name'] === service['spec']['ports'][0]['targetPort']);
    expect(port, 'the Service targets a named port of the server').toBeDefined();
    expect(String(port['containerPort'])).toBe(argValue(serverArgs, '--port'));
    for (const probe of ['readinessProbe', 'livenessProbe']) {
      expect(server[probe]['httpGet']).toEqual({ path: '/healthz', port: port['name'] });
    }
    expect(deployment['spec']['strategy']['type'], 'one server at a time on a ReadWriteOnce claim').toBe('Recreate');

    // Every secret and claim a pod mounts exists, with the key it reads; --secret-file and --out lie under them.
    const mountedFiles = (spec: Obj, container: Obj) => {
      const files: Record<string, string> = {};
      for (const mount of container['volumeMounts'] ?? []) {
        const volume = (spec['volumes'] as Obj[]).find((v) => v['name'] === mount['name']);
        expect(volume, `volume ${mount['name']}`).toBeDefined();
        if (volume!['secret']) {
          const secret = secrets.get(volume!['secret']['secretName']);
          expect(secret, `Secret ${volume!['secret']['secretName']}`).toBeDefined();
          for (const item of volume!['secret']['items']) {
            expect(Object.keys({ ...secret!['data'], ...secret!['stringData'] })).toContain(item['key']);
            files[posix.join(mount['mountPath'], item['path'])] = `secret:${item['key']}`;
          }
        }
        if (volume!['persistentVolumeClaim']) {
          expect(claims, `claim ${volume!['persistentVolumeClaim']['claimName']}`).toContain(volume!['persistentVolumeClaim']['claimName']);
          files[mount['mountPath']] = 'claim';
        }
      }
      return files;
    };
    const serverFiles = mountedFiles(pod['spec'], server);
    expect(serverFiles[argValue(serverArgs, '--secret-file')!]).toBe('secret:marina');
    expect(serverFiles[posix.dirname(argValue(serverArgs, '--out')!)], '--out lies on the claim').toBe('claim');
    expect(pod['spec']['securityContext'], 'the image runs as node (uid 1000); fsGroup makes the claim writable').toMatchObject({ runAsUser: 1000, fsGroup: 1000 });

    const jobPod = job['spec']['template'];
    const client = jobPod['spec']['containers'][0];
    const clientArgs = client['args'] as string[];
    expect(clientArgs[0]).toBe('client');
    expect(mountedFiles(jobPod['spec'], client)[argValue(clientArgs, '--secret-file')!]).toBe('secret:marina');
    expect(job['spec']['completionMode']).toBe('Indexed');
    expect(jobPod['spec']['restartPolicy']).toBe('OnFailure');
    const n = Number((server['env'] as { name: string; value: string }[]).find((e) => e.name === 'MARINA_CLIENTS')!.value);
    expect(job['spec']['completions'] * Number(argValue(clientArgs, '--count')), 'completions × --count = the server\'s n').toBe(n);
    expect(job['spec']['parallelism'], 'every client pod at once: the run waits for all n').toBe(job['spec']['completions']);
    expect(argValue(clientArgs, '--server')).toBe(`ws://${service['metadata']['name']}:${service['spec']['ports'][0]['port']}`);
  });

  it('every flag and MARINA_ variable is one `marina server|client --help` lists; the placeholder secret is refused', async () => {
    const containers = [...find('Deployment'), ...find('Job')].flatMap((w) => w['spec']['template']['spec']['containers'] as Obj[]);
    expect(containers).toHaveLength(2);
    for (const c of containers) {
      const [command, ...rest] = c['args'] as string[];
      const help = await marina([command!, '--help']);
      expect(help.code, help.stderr).toBe(0);
      const listed = new Set(help.stdout.match(/--[a-z][a-z-]*/g));
      const used = [...flagsOf(rest), ...envFlags(c['env'])];
      expect(used.length).toBeGreaterThan(2);
      expect(used.filter((f) => !listed.has(f)), `flags marina ${command} does not accept`).toEqual([]);
    }
    // Applied as shipped, the Secret's placeholder stops the server with the fix, rather than securing nothing.
    const placeholder = one('Secret')['stringData']['marina'] as string;
    const file = join(tempDir('k8s'), 'placeholder.secret');
    writeFileSync(file, placeholder);
    const r = await marina(['server', '--secret-file', file, '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/a secret needs at least 16/);
  });
});
