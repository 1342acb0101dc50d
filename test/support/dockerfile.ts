/** The Dockerfile's build stages, read by dockerfile-ast (the parser behind the Dockerfile language server). */
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { read } from "./repo";

export interface Step {
  keyword: string;
  /** Arguments with ARG defaults expanded and flags (--from, --chown) left out. */
  args: string[];
  /** The JSON array of an exec-form CMD/ENTRYPOINT/RUN, else empty. */
  exec: string[];
  flags: string[];
}

const step = (instruction: Instruction): Step => ({
  keyword: instruction.getKeyword(),
  args: instruction.getExpandedArguments().map((argument) => argument.getValue()),
  exec: (
    (instruction as { getJSONStrings?: () => { getJSONValue(): string }[] }).getJSONStrings?.() ?? []
  ).map((json) => json.getJSONValue()),
  flags: ((instruction as { getFlags?: () => { toString(): string }[] }).getFlags?.() ?? []).map(String),
});

/** Stage name -> its steps, FROM first, in file order. */
export const stages = new Map<string, Step[]>();
let current: Step[] = [];
for (const instruction of DockerfileParser.parse(read("Dockerfile")).getInstructions()) {
  const parsed = step(instruction);
  if (parsed.keyword === "FROM") {
    current = [];
    stages.set(parsed.args[2] ?? String(stages.size), current);
  }
  current.push(parsed);
}

/** The stage's steps with that keyword, in order. */
export const steps = (stage: string, keyword: string): Step[] =>
  (stages.get(stage) ?? []).filter((candidate) => candidate.keyword === keyword);

/** The paths .dockerignore lets into the build context, as written ("!server"). */
export const dockerignoreAllowed = read(".dockerignore")
  .split("\n")
  .filter((line) => line.startsWith("!"));
