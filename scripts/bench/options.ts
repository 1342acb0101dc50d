// `bun run bench -- --help`: the options, and the checks made before any server starts.
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";

const USAGE = `usage: bun run bench [-- --rounds N --seconds N]

  --rounds N   rounds of every pair (default 12)
  --seconds N  seconds per pair and round (default 6)

BENCH_SERVICE_DIR=<root of another checkout> adds its service, compared with this one.
Linux only (it reads /proc and pins processes to cores). Needs wrk. Prints Markdown.`;

function refuse(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

export function benchOptions(args = Bun.argv.slice(2)): { rounds: number; seconds: number } {
  let values: { rounds: string; seconds: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        rounds: { type: "string", default: "12" },
        seconds: { type: "string", default: "6" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    refuse(`${(error as Error).message} (see --help)`);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const [rounds, seconds] = [Number(values.rounds), Number(values.seconds)];
  if (!(Number.isInteger(rounds) && rounds >= 1 && Number.isInteger(seconds) && seconds >= 1)) {
    refuse(`--rounds and --seconds take whole numbers from 1, got ${values.rounds} and ${values.seconds}`);
  }
  if (Bun.which("wrk") === null) {
    console.error("bench: 'wrk' is not installed (Debian/Ubuntu: apt-get install wrk)");
    process.exit(1);
  }
  // Each variant and wrk get a core of their own; other work on those cores skews every figure.
  const [load] = loadavg();
  if ((load ?? 0) > availableParallelism()) {
    console.error(
      `bench: WARNING the machine is busy (load average ${load?.toFixed(1)} on ${availableParallelism()} cores): ` +
        "the figures below are unreliable",
    );
  }
  return { rounds, seconds };
}
