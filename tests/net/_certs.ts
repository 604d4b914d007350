/**
 * Test certificates made with openssl in a temporary directory: a CA and leaf certificates for
 * `localhost` and 127.0.0.1 signed by it (ECDSA P-256), optionally already expired.
 * @module
 */

/** A CA and a way to sign leaves with it. */
export interface TestCa {
  dir: string;
  /** The CA certificate (PEM) clients trust. */
  caPem: string;
  caPath: string;
  /** Writes a leaf `name.crt`/`name.key` signed by the CA; returns the paths. */
  leaf(name: string, options?: { days?: number; expired?: boolean; cn?: string }): Promise<{
    cert: string;
    key: string;
  }>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** True when openssl is installed. */
export async function hasOpenssl(): Promise<boolean> {
  try {
    return (await new Deno.Command("openssl", { args: ["version"], stdout: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

/** Creates a CA in a new temporary directory. */
export async function createTestCa(): Promise<TestCa> {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-certs-" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "30",
    "-subj",
    "/CN=duckserve test CA",
  ], dir);
  let serial = 1000;
  return {
    dir,
    caPem: await Deno.readTextFile(`${dir}/ca.crt`),
    caPath: `${dir}/ca.crt`,
    async leaf(name, options = {}) {
      await openssl(
        [
          "req",
          ...ec,
          "-keyout",
          `${name}.key`,
          "-out",
          `${name}.csr`,
          "-subj",
          `/CN=${options.cn ?? "localhost"}`,
        ],
        dir,
      );
      await Deno.writeTextFile(
        `${dir}/${name}.ext`,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
      );
      if (options.expired) {
        // OpenSSL 3.0's x509 cannot backdate; its ca command can.
        await Deno.writeTextFile(`${dir}/index.txt`, "");
        await Deno.writeTextFile(`${dir}/serial`, `${(serial++).toString(16).padStart(4, "0")}\n`);
        await Deno.writeTextFile(
          `${dir}/ca.cnf`,
          "[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\ndefault_md=sha256\n" +
            "policy=p\nserial=serial\nunique_subject=no\n[p]\ncommonName=supplied\n",
        );
        await openssl([
          "ca",
          "-batch",
          "-config",
          "ca.cnf",
          "-startdate",
          "20200101000000Z",
          "-enddate",
          "20200201000000Z",
          "-cert",
          "ca.crt",
          "-keyfile",
          "ca.key",
          "-extfile",
          `${name}.ext`,
          "-notext",
          "-in",
          `${name}.csr`,
          "-out",
          `${name}.crt`,
        ], dir);
      } else {
        await openssl([
          "x509",
          "-req",
          "-in",
          `${name}.csr`,
          "-CA",
          "ca.crt",
          "-CAkey",
          "ca.key",
          "-set_serial",
          String(serial++),
          "-days",
          String(options.days ?? 10),
          "-extfile",
          `${name}.ext`,
          "-out",
          `${name}.crt`,
        ], dir);
      }
      return { cert: `${dir}/${name}.crt`, key: `${dir}/${name}.key` };
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
