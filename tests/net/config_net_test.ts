// The listener keys of the configuration: their cross-key rules, each refusal one clear line.
import { deepEqual, equal, rejects } from "node:assert/strict";
import { loadConfig } from "../../lib/config.ts";

const load = (flags: Record<string, string>) => loadConfig({ env: {}, flags, cwd: "/srv" });

Deno.test("listener keys have their defaults and come from the environment like every key", async () => {
  const config = await loadConfig({
    env: { DUCKDB_IDLE_TIMEOUT: "90s", DUCKDB_CORS_ORIGINS: "https://a.example,https://b.example" },
    cwd: "/srv",
  });
  equal(config.idle_timeout, 90_000);
  equal(config.header_timeout, 10_000);
  equal(config.max_connections, 10_000);
  deepEqual(config.cors_origins, ["https://a.example", "https://b.example"]);
  equal(config.certs_dir, "/srv/data/certs");
  equal(config.tls_cert, null);
  equal(config.http_port, 0);
});

Deno.test("tls_auto needs domains, a contact and http_port, and excludes certificate files", async () => {
  const auto = { tls_auto: "true", tls_domains: "db.example.com", acme_email: "a@example.com" };
  await rejects(load({ ...auto, http_port: "80", tls_domains: "" }), /tls_domains = \[\]/);
  await rejects(
    load({ tls_auto: "true", tls_domains: "x.example", http_port: "80" }),
    /acme_email/,
  );
  await rejects(load(auto), /invalid http_port = 0: tls_auto answers ACME HTTP-01/);
  await rejects(
    load({ ...auto, http_port: "80", tls_cert: "a.pem", tls_key: "k.pem" }),
    /tls_cert\/tls_key and tls_auto exclude each other/,
  );
  await rejects(
    load({ ...auto, http_port: "8080", port: "8080" }),
    /http_port = 8080: it is also port/,
  );
  const ok = await load({ ...auto, http_port: "80", port: "443" });
  equal(ok.tls_auto, true);
});

Deno.test("certs_dir is never reachable from user SQL; CORS origins are checked", async () => {
  const auto = {
    tls_auto: "true",
    tls_domains: "db.example.com",
    acme_email: "a@example.com",
    http_port: "80",
    port: "443",
  };
  await rejects(
    load({ ...auto, certs_dir: "/srv/private/certs", allowed_directories: "/srv/private" }),
    /invalid allowed_directories = "\/srv\/private": it would let user SQL reach certificates and ACME keys \(certs_dir \/srv\/private\/certs\)/,
  );
  await rejects(
    load({ ...auto, certs_dir: "/srv/certs", temp_directory: "/srv/certs/tmp" }),
    /invalid temp_directory .*certs_dir/,
  );
  await rejects(load({ cors_origins: "*,https://a.example" }), /"\*" stands alone/);
  await rejects(load({ cors_origins: "a.example" }), /expected scheme:\/\/host\[:port\]/);
});
