// duckserve API reference page: loads the OpenAPI document (with the API key when one is set,
// so the page lists the tables that key may use) and mounts Swagger UI on it. The key lives in
// sessionStorage only: it is forgotten when the tab closes.
const config = JSON.parse(document.getElementById("duckserve-config").textContent);
const STORE = "duckserve.apiKey";
const form = document.getElementById("key-form");
const input = document.getElementById("api-key");
const forget = document.getElementById("forget-key");
const status = document.getElementById("status");

function say(text, isError = false) {
  status.textContent = text;
  status.dataset.state = isError ? "error" : "ok";
}

async function load() {
  const key = sessionStorage.getItem(STORE) ?? "";
  input.value = key;
  say("Loading the API description…");
  let spec;
  try {
    const response = await fetch(config.spec, { headers: key ? { "X-API-Key": key } : {} });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      say(
        `${response.status} ${problem.code ?? ""}: ${problem.detail ?? response.statusText}`,
        true,
      );
      return;
    }
    spec = await response.json();
  } catch (err) {
    say(`Cannot load the API description: ${err.message}`, true);
    return;
  }
  say(
    key
      ? "Using your key for this page and for “Try it out”."
      : config.auth
      ? "No key: enter one to see your tables and to try requests."
      : "Authentication is off on this server.",
  );
  const ui = globalThis.SwaggerUIBundle({
    spec,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 1,
    persistAuthorization: false,
    onComplete: () => {
      if (key) {
        ui.preauthorizeApiKey("apiKey", key);
      }
    },
  });
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const key = input.value.trim();
  if (key) sessionStorage.setItem(STORE, key);
  else sessionStorage.removeItem(STORE);
  load();
});
forget.addEventListener("click", () => {
  sessionStorage.removeItem(STORE);
  load();
});
load();
