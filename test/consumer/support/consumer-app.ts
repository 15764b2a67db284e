import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';

const execFileAsync = promisify(execFile);

/** What a new CDK TypeScript app installs, besides the library's tarball. */
export interface ConsumerAppOptions {
  /** npm specs, e.g. `aws-cdk-lib@latest` or `aws-cdk-lib@2.221.0`. */
  readonly dependencies: string[];
  /** The app's bin/app.ts. */
  readonly appSource: string;
}

export interface SynthResult {
  readonly exitCode: number;
  readonly output: string;
  readonly cdkOut: string;
}

/** A CDK TypeScript app in its own temporary folder, as `cdk init app --language typescript` lays it out. */
export class ConsumerApp {
  public static async create(name: string, tarball: string, options: ConsumerAppOptions): Promise<ConsumerApp> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `astra-consumer-${name}-`));
    fs.mkdirSync(path.join(dir, 'bin'));
    writeJson(path.join(dir, 'package.json'), { name: `consumer-${name}`, version: '0.0.0', private: true });
    writeJson(path.join(dir, 'tsconfig.json'), {
      compilerOptions: {
        target: 'ES2022', module: 'commonjs', strict: true, noEmit: true, skipLibCheck: true, esModuleInterop: true, types: [],
      },
      include: ['bin/**/*.ts'],
    });
    writeJson(path.join(dir, 'cdk.json'), { app: 'npx tsx bin/app.ts' });
    fs.writeFileSync(path.join(dir, 'bin', 'app.ts'), options.appSource);
    await installInto(dir, [...options.dependencies, tarball]);
    return new ConsumerApp(dir);
  }

  private constructor(public readonly dir: string) {}

  /** The installed version of a package, from its own package.json. */
  public installedVersion(pkg: string): string {
    return JSON.parse(fs.readFileSync(path.join(this.dir, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  }

  /** Type-checks bin/app.ts against the installed typings, as a user's editor and `tsc` would. */
  public async typecheck(): Promise<void> {
    await execFileAsync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: this.dir });
  }

  /**
   * `cdk synth` with no AWS credentials and no way to find any, into its own output folder.
   * Does not throw on a non-zero exit.
   */
  public async synth(options: { output?: string; context?: Record<string, string> } = {}): Promise<SynthResult> {
    const cdkOut = path.join(this.dir, options.output ?? 'cdk.out');
    const context = Object.entries(options.context ?? {}).flatMap(([key, value]) => ['--context', `${key}=${value}`]);
    try {
      const { stdout, stderr } = await execFileAsync('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--output', cdkOut, ...context], {
        cwd: this.dir, env: withoutAwsCredentials(this.dir), maxBuffer: 64 * 1024 * 1024,
      });
      return { exitCode: 0, output: stdout + stderr, cdkOut };
    } catch (e) {
      const failure = e as { code?: number; stdout?: string; stderr?: string };
      return { exitCode: failure.code ?? 1, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}`, cdkOut };
    }
  }

  public remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The version a `^x.y.z` (or exact) range starts at: the oldest release the range admits. */
export function minimumOf(range: string): string {
  const match = /^\^?(\d+\.\d+\.\d+)$/.exec(range.trim());
  if (!match) throw new Error(`Cannot tell the minimum of the peer range "${range}": expected ^x.y.z or x.y.z.`);
  return match[1];
}

function withoutAwsCredentials(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('AWS_') && !key.startsWith('CDK_')) env[key] = value;
  }
  return {
    ...env,
    // No credentials files, no instance metadata, no telemetry: synth must need none of them.
    AWS_CONFIG_FILE: path.join(home, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

/**
 * npm's cache is shared with every other install on this machine, so after the first run this is offline.
 * A cached packument can predate a release that a fresher one (`aws-cdk-lib@latest`) already depends on, and
 * `--prefer-offline` never revalidates it (ETARGET, or ERESOLVE with `aws-cdk-lib@undefined`): ask the registry then.
 */
async function installInto(dir: string, specs: string[]): Promise<void> {
  const install = (freshness: string) => execFileAsync('npm', ['install', '--no-audit', '--no-fund', freshness, ...specs], {
    cwd: dir, env: { ...process.env, npm_config_update_notifier: 'false' }, maxBuffer: 16 * 1024 * 1024,
  });
  try {
    await install('--prefer-offline');
  } catch {
    await install('--prefer-online');
  }
}
