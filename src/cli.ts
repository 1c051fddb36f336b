import { Command, Option } from 'commander';
import { ConfigError } from './config/errors.js';
import { loadConfig, type LoadedConfig } from './config/load.js';
import { summarizeConfig } from './config/summary.js';
import { VERSION } from './core/version.js';
import { BrokerPortError } from './mqtt/embedded-broker.js';
import { DataDirInUseError } from './core/data-dir-lock.js';
import { createApp } from './app.js';
import { applySupervisorServices } from './config/supervisor.js';
import { createLogger, logFormat } from './log/logger.js';

/** Prints a config problem list (no stack trace) and exits non-zero. */
function failConfig(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

export function loadOrExit(path?: string): LoadedConfig {
  try {
    return loadConfig(path);
  } catch (err) {
    failConfig(err);
  }
}

const program = new Command();
/** The configuration `path`, else the one `--config` (or its defaults) names; exits on problems. */
const configured = (path?: string): LoadedConfig => loadOrExit(path ?? program.opts<{ config?: string }>().config);
program
  .name('sarai')
  .description('SARAi Omni Bridge: local multimodal AI for Home Assistant over MQTT')
  .version(VERSION)
  .addOption(new Option('-c, --config <path>', 'configuration file (default: $SARAI_CONFIG, the add-on options, or config/sarai.yaml)'));

program
  .command('run', { isDefault: true })
  .description('run the bridge (the embedded MQTT broker when mqtt.url is not set)')
  .action(async () => {
    const loaded = configured();
    const log = createLogger(loaded.config.log.level, process.stdout, logFormat(loaded.config.log.format));
    await applySupervisorServices(loaded.config, process.env, log);
    const app = createApp(loaded, { log });
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.ctx.log.info({ module: 'app', signal }, 'stopping');
      await app.stop();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
    try {
      await app.start();
    } catch (err) {
      if (err instanceof BrokerPortError || err instanceof DataDirInUseError) {
        app.ctx.log.fatal({ module: err instanceof BrokerPortError ? 'broker' : 'app' }, err.message);
        process.stderr.write(`\nsarai: ${err.message}\n`);
      } else {
        app.ctx.log.fatal({ module: 'app', err }, 'start-up failed');
      }
      await app.stop().catch(() => undefined);
      process.exit(1);
    }
  });

program
  .command('check-config [path]')
  .description('validate a configuration: list every problem, or summarize what will run')
  .action((path?: string) => {
    const loaded = configured(path);
    process.stdout.write(`${summarizeConfig(loaded.config, loaded.source)}\n`);
  });

program
  .command('describe <image>')
  .description('describe an image file down the camera snapshot path (summary, objects, alert, severity), without MQTT')
  .option('-c, --camera <id>', "use this configured camera's prompt and alert rules (default: camera_defaults)")
  .option('-p, --prompt <text>', "the question (default: the camera's prompt)")
  .option('--json', 'print {text, camera, summary, description, objects, alert, severity, event_type, route, model, latency_ms, reason} as JSON')
  .action(async (image: string, o: { prompt?: string; json?: boolean; camera?: string }) => {
    const { describeCommand } = await import('./router/cli-commands.js');
    process.exit((await describeCommand(configured(), image, o)).code);
  });

program
  .command('ask <text...>')
  .description('ask a question through the router (tiny or expert, with fallbacks)')
  .option('-r, --role <role>', 'force a role (skips classification)')
  .option('--stream', 'print tokens as they arrive')
  .option('--json', 'print {text, route, model, latency_ms, reason} as JSON')
  .option('-m, --model <path>', 'answer with this GGUF file in-process (bypasses the router; settings from --role or router.text_default)')
  .action(async (words: string[], o: { role?: string; stream?: boolean; json?: boolean; model?: string }) => {
    if (o.model) {
      const { askModelCommand } = await import('./models/cli-commands.js');
      process.exit((await askModelCommand(configured(), o.model, words.join(' '), o)).code);
    }
    const { askCommand } = await import('./router/cli-commands.js');
    process.exit((await askCommand(configured(), words.join(' '), o)).code);
  });

program
  .command('digest [period]')
  .description('digest of the timeline (today, yesterday, last_24h, last_7d or YYYY-MM-DD; default digest.period): counts from the database, prose by the text role')
  .option('-c, --camera <id>', 'one camera only')
  .option('--plain', 'the counts only, no model')
  .option('--json', 'print the sarai/digest JSON')
  .action(async (period: string | undefined, o: { camera?: string; json?: boolean; plain?: boolean }) => {
    const { digestCommand } = await import('./digest/cli-command.js');
    process.exit((await digestCommand(configured(), period, o)).code);
  });

program
  .command('transcribe <wav>')
  .description('speech to text: a WAV file (PCM 8-32 bit or float, any rate) through the stt path')
  .option('--json', 'print {text, route, model, latency_ms, reason} as JSON')
  .action(async (wav: string, o: { json?: boolean }) => {
    const { transcribeCommand } = await import('./voice/cli-commands.js');
    process.exit((await transcribeCommand(configured(), wav, o)).code);
  });

program
  .command('speak <text...>')
  .description('text to speech through the tts path (espeak-ng fallback) into a 16-bit WAV')
  .requiredOption('-o, --out <wav>', 'the WAV file to write')
  .option('--json', 'print {text, route, model, latency_ms, reason} as JSON')
  .action(async (words: string[], o: { out: string; json?: boolean }) => {
    const { speakCommand } = await import('./voice/cli-commands.js');
    process.exit((await speakCommand(configured(), words.join(' '), o)).code);
  });

const models = program.command('models').description('in-process model files (GGUF, mmproj, transformers.js folders): list, pull (resume + sha256), verify');
models
  .command('list')
  .description('every role: backend, file, size, present, loaded, memory estimate')
  .option('--json', 'print the rows as JSON')
  .action(async (o: { json?: boolean }) => {
    const { modelsListCommand } = await import('./models/cli-commands.js');
    process.exit(modelsListCommand(configured(), o).code);
  });
models
  .command('pull [target]')
  .description('download a role\'s files (GGUF + mmproj, or a transformers.js folder), every in-process role (--all), hf:owner/repo/file.gguf or an http(s) .gguf URL into models_dir (resumes a .part; HF_ENDPOINT picks a mirror)')
  .option('-f, --force', 'download again even if the file exists')
  .option('-a, --all', 'every enabled in-process role')
  .action(async (target: string | undefined, o: { force?: boolean; all?: boolean }) => {
    const { modelsPullCommand } = await import('./models/cli-commands.js');
    if (!target && !o.all) {
      process.stderr.write('sarai models pull: name a role, --all, hf:owner/repo/file.gguf or a URL\n');
      process.exit(2);
    }
    process.exit((await modelsPullCommand(configured(), o.all ? '--all' : (target ?? ''), o)).code);
  });
models
  .command('verify [roles...]')
  .description('check every in-process role\'s files: present, GGUF not damaged (preflight), sha256 as pinned or as the hub gave it at pull')
  .action(async (roles: string[]) => {
    const { modelsVerifyCommand } = await import('./models/cli-commands.js');
    process.exit((await modelsVerifyCommand(configured(), roles)).code);
  });

await program.parseAsync(process.argv);
