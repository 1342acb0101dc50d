/**
 * A small Dockerfile reader for tests: instructions grouped by build stage, with line continuations joined
 * and comments dropped. Enough to check what the image promises (base tags, user, ports, exec forms); it is
 * no substitute for `docker build`, which the container check runs.
 */

export interface Instruction {
  /** Upper-cased keyword, e.g. "COPY". */
  keyword: string;
  /** Everything after the keyword, continuation lines joined with a space. */
  args: string;
  /** 1-based line where the instruction starts, for error messages. */
  line: number;
}

export interface Stage {
  /** The `AS name`, if any. */
  name: string | undefined;
  /** The image reference after FROM, with ARG defaults substituted. */
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults (the only ones FROM lines can use). */
  globalArgs: Map<string, string>;
  stages: Stage[];
}

function instructions(text: string): Instruction[] {
  const result: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split("\n").forEach((raw, index) => {
    const trimmed = raw.trim();
    // Comment and empty lines are skipped, also inside a continued instruction, as Docker does.
    if (trimmed.startsWith("#") || trimmed === "") return;
    const continues = trimmed.endsWith("\\");
    const part = continues ? trimmed.slice(0, -1).trim() : trimmed;
    pending = pending
      ? { text: `${pending.text} ${part}`, line: pending.line }
      : { text: part, line: index + 1 };
    if (continues) return;
    const match = /^(\S+)\s*(.*)$/.exec(pending.text);
    if (match?.[1])
      result.push({ keyword: match[1].toUpperCase(), args: match[2] ?? "", line: pending.line });
    pending = undefined;
  });
  return result;
}

function substitute(value: string, args: Map<string, string>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? "";
    return args.get(name) ?? whole;
  });
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of instructions(text)) {
    if (instruction.keyword === "FROM") {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match?.[1]) throw new Error(`line ${instruction.line}: cannot read FROM ${instruction.args}`);
      stages.push({ name: match[2], from: substitute(match[1], globalArgs), instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage) {
      stage.instructions.push(instruction);
    } else if (instruction.keyword === "ARG") {
      const [name, value = ""] = instruction.args.split("=", 2);
      if (name) globalArgs.set(name.trim(), value.trim());
    }
  }
  return { globalArgs, stages };
}

/** The JSON array of an exec-form instruction, or undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trimStart().startsWith("[")) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) return undefined;
  return parsed;
}

export interface Healthcheck {
  options: Map<string, string>;
  /** The exec-form command after CMD, or undefined if it is shell form. */
  command: string[] | undefined;
}

export function parseHealthcheck(args: string): Healthcheck {
  const options = new Map<string, string>();
  let rest = args.trim();
  for (let match = /^--([\w-]+)=(\S+)\s+/.exec(rest); match; match = /^--([\w-]+)=(\S+)\s+/.exec(rest)) {
    options.set(match[1] ?? "", match[2] ?? "");
    rest = rest.slice(match[0].length);
  }
  if (!rest.startsWith("CMD")) return { options, command: undefined };
  return { options, command: execForm(rest.slice("CMD".length).trim()) };
}
