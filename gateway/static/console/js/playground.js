// Playground: pick a model, chat with it streamed, optionally with tools (OpenAI's JSON form).

import { api, errorBox, h, money, streamPost } from "./api.js";

function parseJson(text, what) {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} is not valid JSON: ${error.message}`);
  }
}

export async function render(root) {
  const models = (await api("GET", "/api/v1/llm/models")).data.filter((m) => m.available);
  const model = h("select", { id: "model" }, models.map((m) => h("option", { value: m.id }, m.id)));
  const system = h("textarea", { id: "system", rows: 2, cols: 60, placeholder: "optional system message" });
  const tools = h("textarea", {
    id: "tools", rows: 4, cols: 60,
    placeholder: '[{"type": "function", "function": {"name": "get_weather", "parameters": {...}}}]',
  });
  const extra = h("textarea", { id: "extra", rows: 2, cols: 60, placeholder: '{"tool_choice": "auto"}' });
  const temperature = h("input", { id: "temperature", type: "number", step: "0.1", min: 0, max: 2, placeholder: "default" });
  const maxTokens = h("input", { id: "max-tokens", type: "number", min: 1, placeholder: "default" });
  const prompt = h("textarea", { id: "prompt", rows: 3, cols: 80, placeholder: "Say something…" });
  const send = h("button", { id: "send", type: "submit" }, "Send");
  const stop = h("button", { id: "stop", type: "button", class: "secondary", disabled: true }, "Stop");
  const reset = h("button", { type: "button", class: "secondary" }, "New chat");
  const chat = h("div", { class: "chat", id: "chat" });
  const problem = h("div");
  const history = [];
  let controller = null;

  reset.addEventListener("click", () => {
    history.length = 0;
    chat.replaceChildren();
  });
  stop.addEventListener("click", () => controller && controller.abort());

  async function submit(event) {
    event.preventDefault();
    problem.replaceChildren();
    const text = prompt.value.trim();
    if (!text) return;
    let body;
    try {
      const toolList = parseJson(tools.value, "Tools");
      const extraBody = { ...(parseJson(extra.value, "Extra body") || {}) };
      const messages = [...(system.value.trim() ? [{ role: "system", content: system.value.trim() }] : []),
        ...history, { role: "user", content: text }];
      body = { model: model.value, messages };
      if (toolList !== undefined) body.tools = toolList;
      if (Object.keys(extraBody).length) body.extra_body = extraBody;
      if (temperature.value) body.temperature = Number(temperature.value);
      if (maxTokens.value) body.max_tokens = Number(maxTokens.value);
    } catch (error) {
      problem.append(errorBox(error));
      return;
    }
    history.push({ role: "user", content: text });
    chat.append(h("div", { class: "msg user" }, text));
    prompt.value = "";
    const reasoning = h("div", { class: "reasoning" });
    const content = h("div", { class: "content" });
    const calls = h("pre", { class: "mono" });
    const meta = h("div", { class: "meta" });
    const bubble = h("div", { class: "msg assistant" }, reasoning, content, calls, meta);
    chat.append(bubble);
    controller = new AbortController();
    send.disabled = true;
    stop.disabled = false;
    let answer = "";
    try {
      await streamPost("/api/v1/llm/complete/stream", body, (type, data) => {
        if (type === "start") meta.textContent = `${data.provider} · ${data.model}`;
        if (type === "delta") {
          if (data.content) content.textContent = answer += data.content;
          if (data.reasoning) reasoning.textContent += data.reasoning;
          if (data.tool_calls) calls.textContent += JSON.stringify(data.tool_calls) + "\n";
        }
        if (type === "fallback") meta.textContent += ` · fell back: ${data.provider} (${data.reason || ""})`;
        if (type === "done") {
          const usage = data.usage || {};
          meta.textContent += ` · ${usage.total_tokens ?? "?"} tokens · ${money(data.cost)} · ${data.finish_reason}`;
          bubble.dataset.done = "true";
        }
        if (type === "error") bubble.append(h("p", { class: "error" }, `${data.code}: ${data.message}`));
      }, controller.signal);
      history.push({ role: "assistant", content: answer });
    } catch (error) {
      if (error.name !== "AbortError") bubble.append(errorBox(error));
      else meta.textContent += " · stopped";
    } finally {
      send.disabled = false;
      stop.disabled = true;
      controller = null;
    }
  }

  root.append(
    h("h2", {}, "Playground"),
    h("form", { class: "card", onsubmit: submit },
      h("div", { class: "row" },
        h("label", {}, "Model", model),
        h("label", {}, "Temperature", temperature),
        h("label", {}, "Max tokens", maxTokens)),
      h("div", { class: "row" },
        h("label", {}, "System", system),
        h("label", {}, "Tools (JSON array of function tools)", tools),
        h("label", {}, "Extra body (JSON object)", extra)),
      h("h3", {}, "Conversation"),
      chat,
      h("div", { class: "row" }, h("label", {}, "Message", prompt), send, stop, reset),
      problem),
  );
  return () => controller && controller.abort();
}
