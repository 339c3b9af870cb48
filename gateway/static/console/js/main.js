// The console: a hash router over its pages, and the key this tab uses.

import { api, currentKey, errorBox, h, setKey } from "./api.js";
import * as batches from "./batches.js";
import * as jobs from "./jobs.js";
import * as keys from "./keys.js";
import * as playground from "./playground.js";
import * as providers from "./providers.js";
import * as usage from "./usage.js";

const PAGES = { playground, keys, usage, providers, jobs, batches };
let leave = null; // the current page's clean-up (timers, streams)

async function whoAmI() {
  const who = document.getElementById("who");
  if (!currentKey()) {
    who.textContent = "no key";
    return { admin: false };
  }
  try {
    await api("GET", "/api/v1/admin/keys");
    who.textContent = "admin key";
    return { admin: true };
  } catch (error) {
    who.textContent = error.status === 401 ? "key refused" : "API key";
    return { admin: false, refused: error.status === 401 };
  }
}

async function show() {
  if (leave) leave();
  leave = null;
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1] || "playground";
  const page = PAGES[name] || playground;
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.getAttribute("href") === `#/${name}`);
  }
  const root = document.getElementById("page");
  root.replaceChildren();
  const who = await whoAmI();
  if (!currentKey() || who.refused) {
    root.append(
      h("div", { class: "card" }, h("h2", {}, "Sign in"),
        h("p", {}, "Paste an API key (or the admin key, for keys and every key's usage) above. ",
          "`llm-gateway up` prints both.")),
    );
    return;
  }
  try {
    leave = (await page.render(root, who)) || null;
  } catch (error) {
    root.append(errorBox(error));
  }
}

document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("key-input");
  setKey(input.value.trim());
  input.value = "";
  show();
});
window.addEventListener("hashchange", show);
show();
