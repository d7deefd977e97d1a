// llama.cpp (through node-llama-cpp's prebuilt CPU binaries) on the same GGUF, tokens and
// threads as benches/llm.rs. Same job and answer as llama_cpp_llm.py: reads
// {"model", "threads", "prompt", "history", "second_turn", "decode_tokens", "runs"} as JSON on
// stdin, prints {"prefill_ms", "second_turn_ms", "decode_tokens_per_s"} (medians, greedy).
import { getLlama } from "node-llama-cpp";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const job = JSON.parse(Buffer.concat(chunks).toString());

const llama = await getLlama({ gpu: false, build: "never" });
const model = await llama.loadModel({ modelPath: job.model });
const context = await model.createContext({ contextSize: 2048, threads: job.threads, batchSize: 512 });
const sequence = context.getSequence();
const greedy = { temperature: 0 };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const prefill = [], second = [], decode = [];
for (let run = 0; run < job.runs; run++) {
  await sequence.clearHistory();
  let started = performance.now();
  const tokens = sequence.evaluate(job.prompt, greedy)[Symbol.asyncIterator]();
  await tokens.next();
  prefill.push(performance.now() - started);
  started = performance.now();
  for (let i = 0; i < job.decode_tokens; i++) await tokens.next();
  decode.push(job.decode_tokens / ((performance.now() - started) / 1000));
  await tokens.return();

  await sequence.clearHistory();
  await sequence.evaluateWithoutGeneratingNewTokens(job.history);
  started = performance.now();
  const next = sequence.evaluate(job.second_turn, greedy)[Symbol.asyncIterator]();
  await next.next();
  second.push(performance.now() - started);
  await next.return();
}
console.log(JSON.stringify({
  prefill_ms: median(prefill),
  second_turn_ms: median(second),
  decode_tokens_per_s: median(decode),
}));
process.exit(0);
